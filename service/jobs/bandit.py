"""The bandit job: moves the weights of running `allocation: "bandit"` experiments, run by the
scheduler process (`smallfavor schedule`) on every poll.

For each running bandit experiment, `run_due(now)`:
1. makes sure the weight history covers what readers got: the weights at the start if nothing
   is recorded yet, and any weights an editor (or an interrupted run of this job) applied
   through a revision that the history does not know yet, at the revision's time;
2. once per cadence slot (slots are aligned on the epoch: an hourly bandit moves on the hour)
   reads every variant's exposed visitors on the primary metric and asks the pure rule
   (service/domain/bandit.py) for weights, with a generator seeded by experiment and slot;
3. applies new weights as an audited revision (action and actor "bandit") and records them,
   or records that the weights stay and why.

Several schedulers may run at once. Applying is guarded by the revision the job read: the
UPDATE is conditional on it, so of two replicas (or a replica and an editor) exactly one
writes, and the loser leaves the slot to the next poll. A slot's "nothing changes" row is an
INSERT at the slot's start that only one replica can win. New weights reach the decision
caches at once through the config version (or within their maximum age if Redis is away);
visitors already assigned keep their variant whatever the weights (the ledger's HSETNX).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from service.domain.bandit import (
    WeightChange,
    current_weights,
    is_due,
    plan_weights,
    same_split,
    slot_rng,
    slot_start,
    with_weights,
)
from service.domain.experiment import Allocation, Status
from service.stats.thompson import DEFAULT_DRAWS
from service.store.sql.bandit_repo import BanditWeightRepo, effective_instant
from service.store.sql.experiments_repo import ExperimentRepo, StaleRevision, StoredExperiment
from service.store.sql.report_queries import arm_totals

log = logging.getLogger(__name__)
ACTOR = "bandit"


@dataclass(frozen=True, slots=True)
class BanditOutcome:
    """What one evaluation did: `applied` new weights (with `revision`), or kept them."""

    experiment: str
    applied: bool
    weights: dict[str, float]
    reason: str
    revision: int | None = None


class BanditJob:
    def __init__(
        self,
        engine: Engine,
        announce: Callable[[], object],
        *,
        draws: int = DEFAULT_DRAWS,
    ) -> None:
        self._engine = engine
        self._experiments = ExperimentRepo(engine)
        self.history = BanditWeightRepo(engine)
        self._announce = announce
        self._draws = draws

    def run_due(self, now: datetime) -> list[BanditOutcome]:
        """Evaluate every running bandit experiment whose cadence slot has not been handled;
        one experiment's failure is logged and does not stop the others."""
        outcomes = []
        for stored in self._experiments.find([Status.running]):
            if stored.experiment.allocation != Allocation.bandit:
                continue
            try:
                outcome = self._run_one(stored, now)
            except Exception:
                log.exception("bandit evaluation of %r failed", stored.experiment.key)
                continue
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def _run_one(self, stored: StoredExperiment, now: datetime) -> BanditOutcome | None:
        stored, last = self._catch_up(stored, now)
        experiment = stored.experiment
        key = experiment.key
        cadence = experiment.bandit.cadence_minutes
        if not is_due(last, now, cadence):
            return None
        slot = slot_start(now, cadence)
        totals = arm_totals(
            self._engine,
            key,
            start=None,
            end=None,
            segment=None,
            revenue_cap=experiment.analysis.revenue_cap,
        )
        plan = plan_weights(
            experiment,
            {t.variant: t for t in totals},
            slot_rng(key, slot),
            draws=self._draws,
        )
        details = {**plan.details, "slot": slot.isoformat()}
        if not plan.changed:
            kept = WeightChange(slot, current_weights(experiment), plan.reason, details)
            if not self.history.claim(key, kept):
                return None  # another scheduler handled this slot
            return BanditOutcome(key, False, kept.weights, plan.reason)
        at = effective_instant(now)
        try:
            saved = self._experiments.save(
                with_weights(experiment, plan.weights),
                action=ACTOR,
                actor=ACTOR,
                now=at,
                expected_revision=stored.revision,
            )
        except StaleRevision:
            # Another scheduler applied this slot's weights, or an editor saved meanwhile: the
            # next poll sees the new revision and decides again.
            log.info("bandit weights for %r not applied: the experiment changed", key)
            return None
        details["revision"] = saved.revision
        self.history.record(key, WeightChange(at, plan.weights, plan.reason, details))
        self._announce()
        log.info("bandit weights for %r now %s: %s", key, plan.weights, plan.reason)
        return BanditOutcome(key, True, plan.weights, plan.reason, saved.revision)

    def _catch_up(
        self, stored: StoredExperiment, now: datetime
    ) -> tuple[StoredExperiment, datetime | None]:
        """Record weights readers got that the history lacks; returns the experiment (read
        again if it had changed) and the latest row's time.

        Normally a no-op: the latest row holds the live weights. Otherwise (first sight of the
        experiment, an editor changed the weights, or this job stopped between applying and
        recording) the revisions say from when each set of weights was live."""
        key = stored.experiment.key
        last = self.history.latest(key)
        if last is not None and same_split(last.weights, current_weights(stored.experiment)):
            return stored, last.effective_at
        # Read again: another scheduler may have applied and recorded weights since `stored`.
        stored = self._experiments.get(key) or stored
        live = current_weights(stored.experiment)
        if last is not None and same_split(last.weights, live):
            return stored, last.effective_at
        since = last.effective_at if last else stored.started_at or now
        before: dict[str, float] | None = None  # the weights live at `since`
        for revision in reversed(self._experiments.history(key) or []):  # oldest first
            weights = {v["key"]: float(v["weight"]) for v in revision.document["variants"]}
            if revision.created_at <= since:
                before = weights
            elif before is None or not same_split(before, weights):
                reason = f"weights set by {revision.actor} (revision {revision.revision})"
                self._note(key, revision.created_at, weights, reason)
                before = weights
        if last is None and before is not None:
            self._note(key, since, before, "weights when the experiment started")
        latest = self.history.latest(key)
        if latest is None or not same_split(latest.weights, live):
            # No revision explains the live weights (history edited by hand?): resynchronise.
            self._note(key, now, live, "weights found in use")
            latest = self.history.latest(key)
        return stored, latest.effective_at if latest else None

    def _note(self, key: str, when: datetime, weights: dict[str, float], reason: str) -> None:
        self.history.claim(key, WeightChange(effective_instant(when), weights, reason, {}))
