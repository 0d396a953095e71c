"""Export schedules and their runs (issue #8).

Exactly once: a scheduled run starts by INSERTing its (schedule_id, fire_time) row, and the
unique constraint on that pair lets exactly one of several racing schedulers succeed; the
others get an IntegrityError and move on. Every later change of hands (a retry, an ad-hoc run
being picked up, a dead scheduler's run taken over) is a conditional UPDATE on the state that
was read (status, attempts), so of two schedulers only the one whose UPDATE matched a row
owns the attempt. Each claim commits in its own transaction: on PostgreSQL a failed INSERT
aborts its transaction, and no lock is held while the export itself runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Row, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from service.domain.export_schedule import (
    ExportFormat,
    ExportSchedule,
    RunStatus,
    stored_destination,
)
from service.store.sql.attempts import Attempts
from service.store.sql.delivery_tables import export_runs as runs
from service.store.sql.delivery_tables import export_schedules as schedules


class ScheduleExists(Exception):
    """Another schedule has this name."""


@dataclass(frozen=True, slots=True)
class StoredSchedule:
    id: int
    schedule: ExportSchedule
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class RunFile:
    """One file a run delivered, as its run records it."""

    name: str
    bytes: int
    rows: int
    media_type: str


@dataclass(frozen=True, slots=True)
class ExportRun:
    """An `export_runs` row, field for field."""

    id: int
    schedule_id: int
    fire_time: datetime | None  # None: an ad-hoc run (API or CLI)
    status: RunStatus
    attempts: int
    claimed_by: str | None
    started_at: datetime | None
    finished_at: datetime | None
    next_attempt_at: datetime | None
    rows: int | None
    bytes: int | None
    destination: str | None
    error: str | None
    destination_type: str | None = None  # DestinationType's value; None before migration 0007
    files: tuple[RunFile, ...] = ()  # what a succeeded run delivered

    def file(self, name: str) -> RunFile | None:
        """The recorded file of this exact name: the only names a download may ask for."""
        return next((f for f in self.files if f.name == name), None)


class ExportRepo:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._attempts = Attempts(engine, runs)

    # Schedules

    def find(self, *, enabled_only: bool = False) -> list[StoredSchedule]:
        query = select(schedules).order_by(schedules.c.name)
        if enabled_only:
            query = query.where(schedules.c.enabled.is_(True))
        with self._engine.connect() as conn:
            return [stored_schedule(row) for row in conn.execute(query)]

    def get(self, schedule_id: int) -> StoredSchedule | None:
        return self._one(schedules.c.id == schedule_id)

    def get_by_name(self, name: str) -> StoredSchedule | None:
        return self._one(schedules.c.name == name)

    def create(self, schedule: ExportSchedule, now: datetime) -> StoredSchedule:
        try:
            with self._engine.begin() as conn:
                # The schedule's document names exactly the table's columns.
                new_id = conn.execute(
                    insert(schedules).values(
                        **schedule.to_document(), created_at=now, updated_at=now
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
        except IntegrityError:
            raise ScheduleExists(schedule.name) from None
        stored = self.get(int(new_id))
        assert stored is not None
        return stored

    def update(
        self, schedule_id: int, schedule: ExportSchedule, now: datetime
    ) -> StoredSchedule | None:
        """Replace the schedule; updated_at moves, so fire times before the edit never run."""
        try:
            with self._engine.begin() as conn:
                result = conn.execute(
                    update(schedules)
                    .where(schedules.c.id == schedule_id)
                    .values(**schedule.to_document(), updated_at=now)
                )
        except IntegrityError:
            raise ScheduleExists(schedule.name) from None
        return self.get(schedule_id) if result.rowcount else None

    def delete(self, schedule_id: int) -> bool:
        with self._engine.begin() as conn:
            # Explicitly, not through ON DELETE CASCADE: SQLite enforces it only with a pragma.
            conn.execute(delete(runs).where(runs.c.schedule_id == schedule_id))
            result = conn.execute(delete(schedules).where(schedules.c.id == schedule_id))
        return bool(result.rowcount)

    # Runs: claims

    def last_fire_time(self, schedule_id: int) -> datetime | None:
        query = select(func.max(runs.c.fire_time)).where(runs.c.schedule_id == schedule_id)
        with self._engine.connect() as conn:
            value = conn.execute(query).scalar()
        return value if isinstance(value, datetime) else None

    def claim_fire(
        self, schedule_id: int, fire_time: datetime, worker: str, now: datetime
    ) -> ExportRun | None:
        """The run of this fire time, now owned by `worker`; None if another claimed it."""
        try:
            return self._insert(schedule_id, fire_time, RunStatus.running, worker, now)
        except IntegrityError:
            return None

    def start_adhoc(self, schedule_id: int, worker: str, now: datetime) -> ExportRun:
        """An ad-hoc run executed by its caller right away (the CLI)."""
        return self._insert(schedule_id, None, RunStatus.running, worker, now)

    def queue_adhoc(self, schedule_id: int, now: datetime) -> ExportRun:
        """An ad-hoc run for the next scheduler poll to execute (the API)."""
        return self._insert(schedule_id, None, RunStatus.queued, None, now)

    def due_runs(self, now: datetime, limit: int = 50) -> list[ExportRun]:
        """Queued ad-hoc runs and retries whose time has come, oldest first."""
        return [export_run(row) for row in self._attempts.due(now, limit)]

    def claim_attempt(self, run: ExportRun, worker: str, now: datetime) -> ExportRun | None:
        """Start the next attempt of a queued or retrying run; None if another took it."""
        taken = self._attempts.claim(run.id, run.status, run.attempts, worker, now)
        return self.run(run.id) if taken else None

    def expire_stale(self, now: datetime, lease: timedelta, max_attempts: int) -> int:
        """Runs whose scheduler died mid-attempt (running for longer than the lease) become
        retries, or failures once out of attempts; the retry is claimed like any other."""
        error = "the scheduler running this attempt stopped before it finished"
        return self._attempts.expire_stale(now, lease, max_attempts, error)

    def finish(
        self,
        run: ExportRun,
        *,
        status: RunStatus,
        now: datetime,
        rows: int | None = None,
        size: int | None = None,
        destination: str | None = None,
        destination_type: str | None = None,
        files: Sequence[RunFile] = (),
        error: str | None = None,
        next_attempt_at: datetime | None = None,
    ) -> bool:
        """Record how the attempt ended; False if the run is no longer this attempt's (its
        lease expired and another scheduler took it over, or the schedule was deleted)."""
        more: dict[str, Any] = {}
        if status == RunStatus.succeeded:
            more.update(
                rows=rows,
                bytes=size,
                destination=destination,
                destination_type=destination_type,
                files=[asdict(f) for f in files],
            )
        elif destination is not None:
            more["destination"] = destination
        return self._attempts.finish(
            run.id,
            run.claimed_by,
            run.attempts,
            status=status,
            now=now,
            error=error,
            next_attempt_at=next_attempt_at,
            **more,
        )

    # Runs: reading

    def run(self, run_id: int) -> ExportRun | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(runs).where(runs.c.id == run_id)).first()
        return export_run(row) if row else None

    def runs(self, schedule_id: int, limit: int = 50) -> list[ExportRun]:
        """Newest first: ad-hoc and scheduled runs in the order they were created."""
        query = (
            select(runs).where(runs.c.schedule_id == schedule_id).order_by(runs.c.id.desc())
        ).limit(limit)
        with self._engine.connect() as conn:
            return [export_run(row) for row in conn.execute(query)]

    def _one(self, condition: Any) -> StoredSchedule | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(schedules).where(condition)).first()
        return stored_schedule(row) if row else None

    def _insert(
        self,
        schedule_id: int,
        fire_time: datetime | None,
        status: RunStatus,
        worker: str | None,
        now: datetime,
    ) -> ExportRun:
        running = status == RunStatus.running
        with self._engine.begin() as conn:
            new_id = conn.execute(
                insert(runs).values(
                    schedule_id=schedule_id,
                    fire_time=fire_time,
                    status=status.value,
                    attempts=1 if running else 0,
                    claimed_by=worker,
                    started_at=now if running else None,
                    next_attempt_at=None if running else now,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        run = self.run(int(new_id))
        assert run is not None
        return run


def stored_schedule(row: Row[Any]) -> StoredSchedule:
    # Built directly, not re-validated: a rule tightened later must not stop stored schedules.
    experiments = row.experiments
    schedule = ExportSchedule(
        name=row.name,
        cron=row.cron,
        timezone=row.timezone,
        experiments=tuple(experiments) if isinstance(experiments, list) else None,
        format=ExportFormat(row.format),
        destination=stored_destination(row.destination),
        enabled=bool(row.enabled),
        catch_up=bool(row.catch_up),
    )
    return StoredSchedule(row.id, schedule, row.created_at, row.updated_at)


def export_run(row: Row[Any]) -> ExportRun:
    files = tuple(RunFile(**f) for f in row.files or ())
    return ExportRun(**{**row._mapping, "status": RunStatus(row.status), "files": files})
