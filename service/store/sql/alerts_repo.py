"""Verdict alerts: each experiment's recorded verdict states and the deliveries of each change.

Exactly once, the way export runs are (store/sql/exports_repo.py): a change is recorded by
INSERTing (experiment, revision) with revision = the last one read + 1, together with one
queued delivery per watcher, in one transaction. The unique pair lets exactly one of several
racing schedulers record it; the others get an IntegrityError and send nothing. Taking a
delivery is a conditional UPDATE on the state that was read (status, attempts), so only one
scheduler sends each attempt. Nothing is locked while a message is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Row, insert, select
from sqlalchemy.exc import IntegrityError

from service.domain.export_schedule import RunStatus
from service.domain.verdict_alerts import AlertMessage
from service.store.sql.attempts import Attempts
from service.store.sql.delivery_tables import alert_deliveries as deliveries
from service.store.sql.delivery_tables import verdict_alerts as alerts


@dataclass(frozen=True, slots=True)
class RecordedState:
    id: int
    experiment_key: str
    revision: int
    state: dict[str, str]
    changes: list[dict[str, Any]]
    message: AlertMessage | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AlertDelivery:
    """An `alert_deliveries` row, field for field."""

    id: int
    alert_id: int
    channel: str
    target: str
    status: RunStatus
    attempts: int
    claimed_by: str | None
    started_at: datetime | None
    finished_at: datetime | None
    next_attempt_at: datetime | None
    error: str | None


class AlertRepo:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._attempts = Attempts(engine, deliveries)

    def latest(self, experiment_key: str) -> RecordedState | None:
        query = (
            select(alerts)
            .where(alerts.c.experiment_key == experiment_key)
            .order_by(alerts.c.revision.desc())
            .limit(1)
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        return _state(row) if row else None

    def history(self, experiment_key: str) -> list[RecordedState]:
        query = (
            select(alerts)
            .where(alerts.c.experiment_key == experiment_key)
            .order_by(alerts.c.revision)
        )
        with self._engine.connect() as conn:
            return [_state(row) for row in conn.execute(query)]

    def record(
        self,
        experiment_key: str,
        revision: int,
        state: Mapping[str, str],
        *,
        changes: Sequence[Mapping[str, Any]],
        message: AlertMessage | None,
        targets: Sequence[tuple[str, str]],
        worker: str,
        now: datetime,
    ) -> int | None:
        """Record the state as `revision` with a queued delivery per (channel, target);
        None when another scheduler recorded that revision first (nothing was written)."""
        try:
            with self._engine.begin() as conn:
                alert_id = conn.execute(
                    insert(alerts).values(
                        experiment_key=experiment_key,
                        revision=revision,
                        state=dict(state),
                        changes=[dict(c) for c in changes],
                        message=message.to_document() if message else None,
                        created_at=now,
                        created_by=worker,
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
                if targets:
                    conn.execute(
                        insert(deliveries),
                        [
                            {
                                "alert_id": alert_id,
                                "channel": channel,
                                "target": target,
                                "status": str(RunStatus.queued),
                                "attempts": 0,
                                "next_attempt_at": now,
                            }
                            for channel, target in targets
                        ],
                    )
        except IntegrityError:
            return None
        return int(alert_id)

    def message(self, alert_id: int) -> AlertMessage | None:
        with self._engine.connect() as conn:
            stored = conn.execute(
                select(alerts.c.message).where(alerts.c.id == alert_id)
            ).scalar_one_or_none()
        return AlertMessage.from_stored(stored) if stored else None

    def due(self, now: datetime, limit: int = 50) -> list[AlertDelivery]:
        return [_delivery(row) for row in self._attempts.due(now, limit)]

    def claim(self, delivery: AlertDelivery, worker: str, now: datetime) -> AlertDelivery | None:
        """Take the delivery for one attempt; None when another scheduler took it first."""
        taken = self._attempts.claim(delivery.id, delivery.status, delivery.attempts, worker, now)
        return self.delivery(delivery.id) if taken else None

    def expire_stale(self, now: datetime, lease: timedelta, max_attempts: int) -> int:
        """Deliveries left running by a scheduler that stopped mid-send become retries (or
        fail, out of attempts). The message may have gone out before it stopped."""
        error = "the scheduler sending it stopped; it may have been sent"
        return self._attempts.expire_stale(now, lease, max_attempts, error)

    def finish(
        self,
        delivery: AlertDelivery,
        *,
        status: RunStatus,
        now: datetime,
        error: str | None = None,
        next_attempt_at: datetime | None = None,
    ) -> None:
        """Record how the claimed attempt ended, unless the delivery changed hands meanwhile."""
        self._attempts.finish(
            delivery.id,
            delivery.claimed_by,
            delivery.attempts,
            status=status,
            now=now,
            error=error,
            next_attempt_at=next_attempt_at,
        )

    def delivery(self, delivery_id: int) -> AlertDelivery | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(deliveries).where(deliveries.c.id == delivery_id)).first()
        return _delivery(row) if row else None

    def deliveries(self, experiment_key: str) -> list[AlertDelivery]:
        query = (
            select(deliveries)
            .join(alerts, alerts.c.id == deliveries.c.alert_id)
            .where(alerts.c.experiment_key == experiment_key)
            .order_by(deliveries.c.id)
        )
        with self._engine.connect() as conn:
            return [_delivery(row) for row in conn.execute(query)]


def _state(row: Row[Any]) -> RecordedState:
    return RecordedState(
        id=row.id,
        experiment_key=row.experiment_key,
        revision=row.revision,
        state=dict(row.state),
        changes=list(row.changes),
        message=AlertMessage.from_stored(row.message) if row.message else None,
        created_at=row.created_at,
    )


def _delivery(row: Row[Any]) -> AlertDelivery:
    return AlertDelivery(
        id=row.id,
        alert_id=row.alert_id,
        channel=row.channel,
        target=row.target,
        status=RunStatus(row.status),
        attempts=row.attempts,
        claimed_by=row.claimed_by,
        started_at=row.started_at,
        finished_at=row.finished_at,
        next_attempt_at=row.next_attempt_at,
        error=row.error,
    )
