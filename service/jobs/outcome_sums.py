"""Rebuilds the report's kept sums (store/sql/outcome_sums.py) of experiments that have none
for their current revenue cap: a periodic job of the scheduler (`smallfavor schedule`).

An experiment lacks them after its revenue cap changed (the edit drops them) or when it was
created before the sums existed. Until rebuilt its reports scan the outcomes: the same figures,
only slower. Two schedulers may rebuild the same experiment; the second finds it done or
redoes it, both exact, as the rebuild holds the experiment's lock.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Engine

from service.store.sql import outcome_sums
from service.store.sql.experiments_repo import ExperimentRepo

log = logging.getLogger(__name__)


class SumsKeeper:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._experiments = ExperimentRepo(engine)

    def run(self, now: datetime) -> list[str]:
        """Rebuild what is stale; returns the keys rebuilt."""
        caps = {
            stored.experiment.key: stored.experiment.analysis.revenue_cap
            for stored in self._experiments.find()
        }
        rebuilt = []
        for key in outcome_sums.stale(self._engine, caps):
            try:
                outcome_sums.rebuild(self._engine, key, caps[key], now)
                rebuilt.append(key)
            except Exception:  # one experiment must not keep the others' sums stale
                log.exception("kept sums of %r not rebuilt", key)
        return rebuilt
