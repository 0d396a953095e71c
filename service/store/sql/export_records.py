"""Export schedules and runs as rows and back: the repository's value types and mappers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from service.domain.export_schedule import (
    ExportFormat,
    ExportSchedule,
    RunStatus,
    stored_destination,
)


@dataclass(frozen=True, slots=True)
class StoredSchedule:
    id: int
    schedule: ExportSchedule
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ExportRun:
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


def schedule_columns(schedule: ExportSchedule) -> dict[str, Any]:
    document = schedule.to_document()
    return {
        "name": schedule.name,
        "cron": schedule.cron,
        "timezone": schedule.timezone,
        "experiments": document["experiments"],
        "format": document["format"],
        "destination": document["destination"],
        "enabled": schedule.enabled,
        "catch_up": schedule.catch_up,
    }


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
    return ExportRun(
        id=row.id,
        schedule_id=row.schedule_id,
        fire_time=row.fire_time,
        status=RunStatus(row.status),
        attempts=row.attempts,
        claimed_by=row.claimed_by,
        started_at=row.started_at,
        finished_at=row.finished_at,
        next_attempt_at=row.next_attempt_at,
        rows=row.rows,
        bytes=row.bytes,
        destination=row.destination,
        error=row.error,
    )
