"""The decision: which banner (if any) one reader sees on one placement, and why.

It runs in two steps around a single Redis round trip:

1. `plan` (before the ledger is read): the placement's running experiments in priority order,
   each with the page rules checked and the visitor's deterministic bucket. The first one in
   traffic is a good guess of the winner, so its assignment can be written speculatively
   (HSETNX) in the same round trip as the ledger read. A guess that turns out wrong costs
   nothing: an unused assignment is never shown, and NX never overwrites a real one.
2. `decide` (with the ledger): audience, stickiness, holdout, snooze and caps, in that order.

Mutual exclusion: the highest-priority experiment whose rules pass and whose traffic includes
the visitor wins the placement; at equal priority, the one whose key sorts first alphabetically
(service/domain/placement_order.py). A visitor outside one experiment's traffic falls through
to the next, so two tests can split one placement. Holdout, snooze and caps stop the placement:
a held-out or snoozed reader is not shown a lower-priority ask instead.

A shipped experiment (status shipped) takes part like a running one, but its bucket
(service/domain/bucketing.py) overrides the ledger: every eligible reader gets the shipped
variant, or the shipped holdout, whatever they were assigned during the test. Nothing is
written to the ledger for it, so unshipping gives readers back their test assignments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from service.domain.bucketing import HOLDOUT, Bucket, bucket
from service.domain.capping import capped, snoozed
from service.domain.experiment import Experiment, Variant
from service.domain.ledger import Ledger
from service.domain.page_context import PageContext
from service.domain.targeting import audience_rule, first_failed_rule, in_schedule


class Reason(StrEnum):
    no_experiment = "no_experiment"
    not_targeted = "not_targeted"
    outside_traffic = "outside_traffic"
    holdout = "holdout"
    capped = "capped"
    snoozed = "snoozed"
    supporter = "supporter"
    unavailable = "unavailable"


@dataclass(frozen=True, slots=True)
class Candidate:
    experiment: Experiment
    bucket: Bucket


@dataclass(frozen=True, slots=True)
class Plan:
    candidates: tuple[Candidate, ...]
    # (experiment key, rule) for experiments whose page rules failed, for debug=1.
    page_failures: tuple[tuple[str, str], ...]
    any_running: bool

    @property
    def speculative_assignment(self) -> tuple[str, str] | None:
        for candidate in self.candidates:
            if candidate.experiment.shipped is not None:
                return None  # a shipped experiment stores no assignment
            if candidate.bucket.in_traffic:
                return candidate.experiment.key, candidate.bucket.assignment
        return None


@dataclass(frozen=True, slots=True)
class Outcome:
    reason: Reason | None
    experiment: Experiment | None = None
    variant: Variant | None = None
    # An assignment the caller must still store (the speculative write did not cover it).
    to_store: tuple[str, str] | None = None
    trace: tuple[dict[str, str | None], ...] = field(default_factory=tuple)


def plan(experiments: Sequence[Experiment], ctx: PageContext, now: datetime) -> Plan:
    """experiments: the placement's running experiments in decision order (highest priority
    first, ties by key: service/domain/placement_order.py)."""
    scheduled = [e for e in experiments if in_schedule(e, now)]
    failures: list[tuple[str, str]] = []
    candidates: list[Candidate] = []
    for experiment in experiments:
        if experiment not in scheduled:
            failures.append((experiment.key, "schedule"))
            continue
        rule = first_failed_rule(experiment, ctx)
        if rule is not None:
            failures.append((experiment.key, rule))
            continue
        candidates.append(Candidate(experiment, bucket(experiment, ctx.visitor)))
    return Plan(tuple(candidates), tuple(failures), bool(scheduled))


def decide(
    the_plan: Plan, ledger: Ledger, ctx: PageContext, now: datetime, *, stored_speculative: bool
) -> Outcome:
    """stored_speculative: whether the plan's speculative assignment was sent with the read."""
    trace: list[dict[str, str | None]] = [
        {"experiment": key, "failed": rule} for key, rule in the_plan.page_failures
    ]
    if not the_plan.any_running:
        return Outcome(Reason.no_experiment, trace=tuple(trace))
    supporter = ctx.supporter or ledger.supporter_since is not None
    saw_supporter_rule = saw_traffic_rule = False
    epoch = now.timestamp()
    for candidate in the_plan.candidates:
        experiment = candidate.experiment
        if audience_rule(experiment, supporter) is not None:
            saw_supporter_rule = saw_supporter_rule or supporter
            trace.append({"experiment": experiment.key, "failed": "audience"})
            continue
        stored = ledger.assignments.get(experiment.key)
        if stored is not None and stored != HOLDOUT and experiment.variant(stored) is None:
            stored = None  # a variant that no longer exists cannot be shown; re-bucket
        if experiment.shipped is not None:
            stored = None  # the shipped variant overrides the test's sticky assignment
        if stored is None and not candidate.bucket.in_traffic:
            saw_traffic_rule = True
            trace.append({"experiment": experiment.key, "failed": "traffic"})
            continue
        assignment = stored or candidate.bucket.assignment
        to_store = None
        if (
            experiment.shipped is None
            and stored is None
            and not (
                stored_speculative
                and the_plan.speculative_assignment == (experiment.key, assignment)
            )
        ):
            to_store = (experiment.key, assignment)
        stop = _stop_reason(experiment, assignment, ledger, ctx, epoch)
        trace.append({"experiment": experiment.key, "failed": stop})
        if stop is not None:
            return Outcome(Reason(stop), experiment, None, to_store, tuple(trace))
        variant = experiment.variant(assignment)
        return Outcome(None, experiment, variant, to_store, tuple(trace))
    if saw_traffic_rule:
        reason = Reason.outside_traffic
    elif saw_supporter_rule:
        reason = Reason.supporter
    else:
        reason = Reason.not_targeted
    return Outcome(reason, trace=tuple(trace))


def _stop_reason(
    experiment: Experiment, assignment: str, ledger: Ledger, ctx: PageContext, epoch: float
) -> str | None:
    if assignment == HOLDOUT:
        return "holdout"
    if snoozed(ledger, str(ctx.placement), epoch):
        return "snoozed"
    if capped(experiment, ledger, epoch):
        return "capped"
    return None
