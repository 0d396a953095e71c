"""Experiments and their audited revisions.

Every write stores the new canonical document and appends a revision row (who, when, the full
document, what changed) in the same transaction, so the audit log cannot miss a change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from service.domain.experiment import Experiment, Status
from service.domain.lifecycle import SHIP
from service.domain.revisions import diff_documents
from service.schemas.experiment import parse_experiment
from service.store.sql import outcome_sums
from service.store.sql.experiment_tables import experiment_revisions as revisions
from service.store.sql.experiment_tables import experiments as ex


class ExperimentExists(Exception):
    pass


class StaleRevision(Exception):
    """The caller edited an older revision than the one stored (optimistic concurrency)."""

    def __init__(self, current: int) -> None:
        super().__init__(f"the experiment is at revision {current}")
        self.current = current


@dataclass(frozen=True, slots=True)
class StoredExperiment:
    experiment: Experiment
    revision: int
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    stopped_at: datetime | None


@dataclass(frozen=True, slots=True)
class Revision:
    revision: int
    action: str
    actor: str
    created_at: datetime
    document: dict[str, Any]
    changes: list[dict[str, Any]]


class ExperimentRepo:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def find(self, statuses: Sequence[Status] | None = None) -> list[StoredExperiment]:
        query = select(ex).order_by(ex.c.placement, ex.c.priority.desc(), ex.c.key)
        if statuses:
            query = query.where(ex.c.status.in_([str(s) for s in statuses]))
        with self._engine.connect() as conn:
            return [_stored(row) for row in conn.execute(query)]

    def running(self) -> list[Experiment]:
        return [s.experiment for s in self.find([Status.running])]

    def get(self, key: str) -> StoredExperiment | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(ex).where(ex.c.key == key)).first()
        return _stored(row) if row else None

    def create(self, experiment: Experiment, actor: str, now: datetime) -> StoredExperiment:
        document = experiment.to_document()
        try:
            with self._engine.begin() as conn:
                new_id = conn.execute(
                    insert(ex).values(
                        **_columns(experiment),
                        document=document,
                        revision=1,
                        created_at=now,
                        updated_at=now,
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
                _append_revision(conn, new_id, 1, "create", actor, now, None, document)
                outcome_sums.start(conn, experiment.key, experiment.analysis.revenue_cap, now)
        except IntegrityError:
            raise ExperimentExists(experiment.key) from None
        stored = self.get(experiment.key)
        assert stored is not None
        return stored

    def save(
        self,
        experiment: Experiment,
        *,
        action: str,
        actor: str,
        now: datetime,
        expected_revision: int | None = None,
    ) -> StoredExperiment:
        """Store a new version of an existing experiment as one audited revision.

        The UPDATE is conditional on the revision read, so two concurrent edits cannot both
        win: the loser gets StaleRevision instead of silently overwriting the other.
        """
        with self._engine.begin() as conn:
            row = conn.execute(select(ex).where(ex.c.key == experiment.key)).first()
            if row is None:
                raise KeyError(experiment.key)
            if expected_revision is not None and expected_revision != row.revision:
                raise StaleRevision(row.revision)
            document = experiment.to_document()
            new_revision = row.revision + 1
            values: dict[str, Any] = {
                **_columns(experiment),
                "document": document,
                "revision": new_revision,
                "updated_at": now,
            }
            if experiment.status == Status.running and row.started_at is None:
                values["started_at"] = now
            if experiment.status == Status.stopped and row.stopped_at is None:
                values["stopped_at"] = now
            result = conn.execute(
                update(ex).where(ex.c.id == row.id, ex.c.revision == row.revision).values(**values)
            )
            if result.rowcount != 1:
                raise StaleRevision(row.revision + 1)
            if _revenue_cap(row.document) != experiment.analysis.revenue_cap:
                outcome_sums.drop(conn, experiment.key)  # the scheduler rebuilds them
            _append_revision(conn, row.id, new_revision, action, actor, now, row.document, document)
        stored = self.get(experiment.key)
        assert stored is not None
        return stored

    def history(self, key: str) -> list[Revision] | None:
        with self._engine.connect() as conn:
            exp_id = conn.execute(select(ex.c.id).where(ex.c.key == key)).scalar()
            if exp_id is None:
                return None
            rows = conn.execute(
                select(revisions)
                .where(revisions.c.experiment_id == exp_id)
                .order_by(revisions.c.revision.desc())
            )
            return [
                Revision(r.revision, r.action, r.actor, r.created_at, r.document, r.changes)
                for r in rows
            ]

    def shipped_at(self, key: str) -> datetime | None:
        """When the experiment was last shipped: its latest `ship` revision."""
        with self._engine.connect() as conn:
            at: datetime | None = conn.execute(
                select(func.max(revisions.c.created_at))
                .select_from(revisions.join(ex, ex.c.id == revisions.c.experiment_id))
                .where(ex.c.key == key, revisions.c.action == SHIP)
            ).scalar()
        return at


def _revenue_cap(document: dict[str, Any]) -> float | None:
    cap = document.get("analysis", {}).get("revenue_cap")
    return None if cap is None else float(cap)


def _columns(experiment: Experiment) -> dict[str, Any]:
    return {
        "key": experiment.key,
        "name": experiment.name,
        "placement": str(experiment.placement),
        "status": str(experiment.status),
        "priority": experiment.priority,
    }


def _append_revision(
    conn: Connection,
    experiment_id: int,
    revision: int,
    action: str,
    actor: str,
    now: datetime,
    before: dict[str, Any] | None,
    document: dict[str, Any],
) -> None:
    conn.execute(
        insert(revisions).values(
            experiment_id=experiment_id,
            revision=revision,
            action=action,
            actor=actor,
            created_at=now,
            document=document,
            changes=diff_documents(before, document),
        )
    )


def _stored(row: Row[Any]) -> StoredExperiment:
    return StoredExperiment(
        experiment=parse_experiment(row.document),
        revision=row.revision,
        created_at=row.created_at,
        updated_at=row.updated_at,
        started_at=row.started_at,
        stopped_at=row.stopped_at,
    )
