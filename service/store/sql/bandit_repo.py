"""The weight history of bandit experiments (`bandit_weights`).

A row says which weights were in use from `effective_at` on, and why. The unique pair
(experiment_key, effective_at) makes a row a claim: when several schedulers record the same
instant (the start of a cadence slot, the time of a revision) exactly one insert wins.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from service.domain.bandit import WeightChange
from service.store.sql.experiment_tables import bandit_weights as bw


class BanditWeightRepo:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def history(self, experiment_key: str) -> list[WeightChange]:
        """Every recorded row, oldest first."""
        return self._changes(experiment_key, bw.c.effective_at)

    def latest(self, experiment_key: str) -> WeightChange | None:
        changes = self._changes(experiment_key, bw.c.effective_at.desc(), limit=1)
        return changes[0] if changes else None

    def _changes(
        self, experiment_key: str, order: Any, limit: int | None = None
    ) -> list[WeightChange]:
        query = (
            select(bw.c.effective_at, bw.c.weights, bw.c.reason, bw.c.details)
            .where(bw.c.experiment_key == experiment_key)
            .order_by(order)
            .limit(limit)
        )
        with self._engine.connect() as conn:
            return [
                WeightChange(row.effective_at, dict(row.weights), row.reason, dict(row.details))
                for row in conn.execute(query)
            ]

    def claim(self, experiment_key: str, change: WeightChange) -> bool:
        """Insert the row unless one exists at that instant; True when this call inserted it."""
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(bw).values(**_values(experiment_key, change)))
        except IntegrityError:
            return False
        return True

    def record(self, experiment_key: str, change: WeightChange) -> None:
        """Insert the row, or overwrite the one at that instant: for weights just applied,
        which supersede a note that nothing changed written at the same second."""
        if self.claim(experiment_key, change):
            return
        with self._engine.begin() as conn:
            conn.execute(
                update(bw)
                .where(bw.c.experiment_key == experiment_key)
                .where(bw.c.effective_at == change.effective_at)
                .values(weights=change.weights, reason=change.reason, details=change.details)
            )


def _values(experiment_key: str, change: WeightChange) -> dict[str, Any]:
    return {
        "experiment_key": experiment_key,
        "effective_at": change.effective_at,
        "weights": dict(change.weights),
        "reason": change.reason[:2000],
        "details": change.details,
    }


def effective_instant(moment: datetime) -> datetime:
    """Times are recorded to the second: the report assigns visitors to strata by whole
    seconds of their first exposure."""
    return moment.replace(microsecond=0)
