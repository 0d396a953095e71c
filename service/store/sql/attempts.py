"""Work that is tried, retried and given up on, one attempt at a time: export runs and alert
deliveries. Their tables share the columns this needs (id, status, attempts, claimed_by,
started_at, finished_at, next_attempt_at, error), and these statements are the same for both.

Taking an attempt is a conditional UPDATE on the state that was read (status, attempts), so
only one of several schedulers wins it; finishing is conditional on still holding it, so a
scheduler whose lease expired cannot overwrite its successor's outcome. Nothing is locked while
the work runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Row, Table, select, update

from service.domain.export_schedule import RunStatus

ERROR_LIMIT = 2000


class Attempts:
    def __init__(self, engine: Engine, table: Table) -> None:
        self._engine = engine
        self._t = table

    def due(self, now: datetime, limit: int) -> Sequence[Row[Any]]:
        """Queued work and retries whose time has come, oldest first."""
        t = self._t
        query = (
            select(t)
            .where(
                t.c.status.in_([RunStatus.queued.value, RunStatus.retrying.value]),
                t.c.next_attempt_at <= now,
            )
            .order_by(t.c.next_attempt_at, t.c.id)
            .limit(limit)
        )
        with self._engine.connect() as conn:
            return conn.execute(query).all()

    def claim(
        self, item_id: int, status: RunStatus, attempts: int, worker: str, now: datetime
    ) -> bool:
        """Start the next attempt of work read as (status, attempts); False if another
        scheduler took it first."""
        t = self._t
        with self._engine.begin() as conn:
            taken = conn.execute(
                update(t)
                .where(t.c.id == item_id, t.c.status == status.value, t.c.attempts == attempts)
                .values(
                    status=RunStatus.running.value,
                    attempts=attempts + 1,
                    claimed_by=worker,
                    started_at=now,
                    next_attempt_at=None,
                )
            ).rowcount
        return taken == 1

    def expire_stale(self, now: datetime, lease: timedelta, max_attempts: int, error: str) -> int:
        """Work left running longer than the lease (its scheduler stopped) becomes a retry,
        or a failure once out of attempts; the retry is claimed like any other."""
        t = self._t
        stale = (t.c.status == RunStatus.running.value, t.c.started_at < now - lease)
        with self._engine.begin() as conn:
            retried = conn.execute(
                update(t)
                .where(*stale, t.c.attempts < max_attempts)
                .values(status=RunStatus.retrying.value, next_attempt_at=now, error=error)
            ).rowcount
            failed = conn.execute(
                update(t)
                .where(*stale, t.c.attempts >= max_attempts)
                .values(status=RunStatus.failed.value, finished_at=now, error=error)
            ).rowcount
        return int(retried) + int(failed)

    def finish(
        self,
        item_id: int,
        claimed_by: str | None,
        attempts: int,
        *,
        status: RunStatus,
        now: datetime,
        error: str | None,
        next_attempt_at: datetime | None,
        **more: Any,
    ) -> bool:
        """Record how the attempt ended (with `more` columns); False if the work is no longer
        this attempt's (its lease expired and another scheduler took it over, or it is gone)."""
        t = self._t
        with self._engine.begin() as conn:
            result = conn.execute(
                update(t)
                .where(
                    t.c.id == item_id,
                    t.c.status == RunStatus.running.value,
                    t.c.claimed_by == claimed_by,
                    t.c.attempts == attempts,
                )
                .values(
                    status=status.value,
                    finished_at=None if status == RunStatus.retrying else now,
                    next_attempt_at=next_attempt_at,
                    error=error[:ERROR_LIMIT] if error else None,
                    **more,
                )
            )
        return result.rowcount == 1
