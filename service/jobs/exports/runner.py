"""One export attempt: resolve the experiments, build a file per experiment, deliver them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine

from service.domain.experiment import Status
from service.domain.export_schedule import ExportFormat, ExportSchedule
from service.jobs.exports import digest
from service.jobs.exports.destinations import deliver
from service.jobs.exports.files import MEDIA_TYPES, ExportFile, encode, file_name, write_atomically
from service.jobs.exports.rows import ExportTable, build_table
from service.settings import Settings
from service.store.sql.experiments_repo import ExperimentRepo, StoredExperiment
from service.store.sql.rollup_days import rollup_days
from service.usecases.build_report import load_report


class ExportError(Exception):
    """The export cannot be built (an experiment it names is gone); one line."""


@dataclass(frozen=True, slots=True)
class Delivered:
    files: list[ExportFile]
    rows: int
    bytes: int
    destination: str


class ExportRunner:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings
        self._experiments = ExperimentRepo(engine)

    def run(
        self, schedule: ExportSchedule, *, run_id: int, as_of: datetime, now: datetime
    ) -> Delivered:
        """Figures cover visitors first exposed up to `as_of`'s UTC day (the fire time, or now
        for an ad-hoc run), as the data stands `now`."""
        stored = self._resolve(schedule.experiments)
        period_to = as_of.astimezone(UTC).date()
        tables = [self.table(s, run_id=run_id, period_to=period_to, now=now) for s in stored]
        files = [
            ExportFile(
                name=file_name(t.experiment, t.period_from, t.period_to, run_id, schedule.format),
                experiment=t.experiment,
                content=encode(t.rows, schedule.format),
                media_type=MEDIA_TYPES[schedule.format],
                rows=len(t.rows),
            )
            for t in tables
        ]
        body = digest.digest(
            schedule_name=schedule.name,
            timezone=schedule.timezone,
            run_id=run_id,
            as_of=as_of,
            tables=[(s.experiment.name, t) for s, t in zip(stored, tables, strict=True)],
            files=files,
        )
        where = deliver(
            schedule.destination,
            files,
            run_id=run_id,
            subject=digest.subject(schedule.name, as_of),
            digest=body,
            settings=self._settings,
        )
        return Delivered(
            files,
            sum(f.rows for f in files),
            sum(len(f.content) for f in files),
            where,
        )

    def export_one(self, key: str, fmt: ExportFormat, out: Path, now: datetime) -> tuple[int, int]:
        """One experiment's file to `out` (the CLI, outside any schedule): (rows, bytes)."""
        (stored,) = self._resolve((key,))
        table = self.table(stored, run_id=None, period_to=now.astimezone(UTC).date(), now=now)
        content = encode(table.rows, fmt)
        write_atomically(out, content)
        return len(table.rows), len(content)

    def table(
        self, stored: StoredExperiment, *, run_id: int | None, period_to: date, now: datetime
    ) -> ExportTable:
        experiment = stored.experiment
        report = load_report(
            self._engine,
            experiment,
            now=now,
            end=period_to,
            min_donors=self._settings.min_donors_per_arm,
        )
        days = rollup_days(self._engine, experiment.key, start=None, end=period_to)
        first = (stored.started_at or stored.created_at).astimezone(UTC).date()
        return build_table(
            experiment,
            report,
            days,
            run_id=run_id,
            first_day=first,
            period_to=period_to,
            generated_at=now,
        )

    def _resolve(self, keys: tuple[str, ...] | None) -> list[StoredExperiment]:
        if keys is None:
            return sorted(self._experiments.find([Status.running]), key=lambda s: s.experiment.key)
        found = []
        for key in keys:
            stored = self._experiments.get(key)
            if stored is None:
                raise ExportError(f"no experiment with key {key!r}")
            found.append(stored)
        return found
