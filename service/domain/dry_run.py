"""The eligibility dry run: before an experiment starts, from the placement's sampled
decisions, what share of readers it would reach, how many of them another running experiment
would take first, and how many days it needs to detect the effect that matters.

Every sample stands for 1 / sample_rate decisions (Horvitz-Thompson), so the estimates hold
when the rate changed within the window. The targeting functions are the decision path's own
(service/domain/targeting.py), applied to the page context each sample recorded.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.domain.decision_log import LoggedDecision
from service.domain.dry_run_power import History, PowerEstimate, choose_baseline, plan_power
from service.domain.experiment import Allocation, Experiment
from service.domain.placement_order import TIE_BREAK, ahead
from service.domain.targeting import audience_rule, first_failed_rule, in_schedule

DEFAULT_MINIMUM_EFFECT = 0.1
DEFAULT_DAYS = 7
MAX_DAYS = 90
# Bounds of the request's numbers: beyond them the arithmetic means nothing (or overflows).
MIN_EFFECT, MAX_EFFECT = 0.001, 10.0
MIN_VALUE, MAX_VALUE = 1e-6, 1e9
MAX_DAYS_TO_DETECT = 36_500


@dataclass(frozen=True, slots=True)
class DryRunRequest:
    minimum_effect: float = DEFAULT_MINIMUM_EFFECT  # relative lift to detect: 0.1 = +10 %
    baseline: float | None = None  # conversion rate, or mean revenue per visitor
    baseline_sd: float | None = None  # per-visitor standard deviation (revenue metrics)
    days: int = DEFAULT_DAYS  # of sampled decisions to read


@dataclass(frozen=True, slots=True)
class Overlap:
    experiment: str
    priority: int
    higher_priority: bool  # its priority is strictly higher than the candidate's
    takes_first: bool  # wins the placement over the candidate where both apply (ties: key)
    share: float  # of the candidate's qualifying readers, also in its rules and traffic


@dataclass(frozen=True, slots=True)
class Reach:
    targeted_share: float  # of decisions whose page passes the candidate's rules
    qualifying_share: float  # … and whose reader falls in its traffic
    # Of qualifying readers: taken first by another experiment on the placement, then split
    # into those taken by a higher priority and those taken by an equal one whose key sorts
    # first (the tie-break); the two add up to the first.
    taken_first_share: float
    higher_priority_share: float
    equal_priority_share: float
    any_priority_share: float  # of qualifying readers, qualifying for another one too
    overlaps: tuple[Overlap, ...]


def _applies(experiment: Experiment, sample: LoggedDecision, ctx: Any) -> bool:
    return (
        first_failed_rule(experiment, ctx) is None
        and audience_rule(experiment, sample.supporter) is None
    )


def reach(
    candidate: Experiment, samples: Sequence[LoggedDecision], others: Sequence[Experiment]
) -> Reach | None:
    """None without samples. `others`: the placement's running experiments, in schedule.

    Traffic draws are independent per experiment (bucketing salts them with each seed), so a
    qualifying reader is in another experiment's traffic with probability its traffic, and
    escapes every one ahead of it with probability Π(1 - traffic). Experiments of higher
    priority are tried before those of equal priority, so the readers an equal-priority one
    takes first are those taken by any one ahead less those taken by a higher one.
    """
    others = [e for e in others if e.key != candidate.key]
    total = targeted = first = higher = any_ = 0.0
    overlap = dict.fromkeys((e.key for e in others), 0.0)
    for sample in samples:
        weight = sample.weight
        total += weight
        ctx = sample.context()
        if not _applies(candidate, sample, ctx):
            continue
        targeted += weight
        free_of_ahead = free_of_higher = free_of_any = 1.0
        for other in others:
            if _applies(other, sample, ctx):
                overlap[other.key] += weight
                free_of_any *= 1.0 - other.traffic
                if ahead(other, candidate):
                    free_of_ahead *= 1.0 - other.traffic
                if other.priority > candidate.priority:
                    free_of_higher *= 1.0 - other.traffic
        first += weight * (1.0 - free_of_ahead)
        higher += weight * (1.0 - free_of_higher)
        any_ += weight * (1.0 - free_of_any)
    if total == 0:
        return None

    def of_targeted(value: float) -> float:
        return value / targeted if targeted else 0.0

    overlaps = tuple(
        Overlap(
            e.key,
            e.priority,
            e.priority > candidate.priority,
            ahead(e, candidate),
            of_targeted(overlap[e.key]) * e.traffic,
        )
        for e in others
        if overlap[e.key]
    )
    share = targeted / total
    taken, by_higher = of_targeted(first), of_targeted(higher)
    return Reach(
        share,
        share * candidate.traffic,
        taken,
        by_higher,
        max(0.0, taken - by_higher),
        of_targeted(any_),
        overlaps,
    )


@dataclass(frozen=True, slots=True)
class DryRun:
    experiment: str
    placement: str
    start: datetime
    end: datetime
    days: int
    samples: int
    first_sample_at: datetime | None
    estimated_daily_decisions: float
    reach: Reach | None
    qualifying_daily_visitors: float | None
    exposed_daily_visitors: float | None  # after experiments taking readers first, the holdout
    power: PowerEstimate | None
    days_to_detect: int | None
    reason: str | None  # why days_to_detect is None
    assumptions: tuple[str, ...]
    minimum_effect: float = 0.0  # as asked, also when there is no power estimate
    priority: int = 0  # the candidate's, which the overlaps are ranked against

    def as_dict(self) -> dict[str, Any]:
        r = self.reach
        return {
            "experiment": self.experiment,
            "placement": self.placement,
            "priority": self.priority,
            "window": {"from": _iso(self.start), "to": _iso(self.end), "days": self.days},
            "samples": self.samples,
            "first_sample_at": _iso(self.first_sample_at) if self.first_sample_at else None,
            "estimated_daily_decisions": _round(self.estimated_daily_decisions),
            "targeted_share": _round(r.targeted_share) if r else None,
            "qualifying_share": _round(r.qualifying_share) if r else None,
            "qualifying_daily_visitors": _round(self.qualifying_daily_visitors),
            "exposed_daily_visitors": _round(self.exposed_daily_visitors),
            "overlap": {
                "taken_first_share": _round(r.taken_first_share) if r else None,
                "higher_priority_share": _round(r.higher_priority_share) if r else None,
                "equal_priority_share": _round(r.equal_priority_share) if r else None,
                "any_priority_share": _round(r.any_priority_share) if r else None,
                "experiments": [
                    {**dataclasses.asdict(o), "share": _round(o.share)}
                    for o in (r.overlaps if r else ())
                ],
            },
            "power": self.power.as_dict() if self.power else None,
            "minimum_effect": self.minimum_effect,
            "days_to_detect": self.days_to_detect,
            "reason": self.reason,
            "assumptions": list(self.assumptions),
        }


def dry_run(
    candidate: Experiment,
    samples: Sequence[LoggedDecision],
    running: Sequence[Experiment],
    request: DryRunRequest,
    *,
    start: datetime,
    end: datetime,
    estimated_decisions: float,
    total_samples: int,
    first_sample_at: datetime | None,
    history: History | None,
) -> DryRun:
    """`samples`: the placement's sampled decisions in (start, end] (perhaps only the newest
    of `total_samples`); `estimated_decisions`: the decisions all of them stand for;
    `running`: running experiments; `history`: the placement's recent primary-metric
    statistics, for a baseline the request does not give."""
    others = [
        e
        for e in running
        if e.placement == candidate.placement and e.key != candidate.key and in_schedule(e, end)
    ]
    days = request.days
    daily = estimated_decisions / days
    found = reach(candidate, samples, others)
    notes = _assumptions(candidate, days, len(samples), total_samples, start, first_sample_at)
    metric = candidate.analysis.primary_metric
    baseline = choose_baseline(metric, request.baseline, request.baseline_sd, history)
    power: PowerEstimate | None = None
    reason: str | None = None
    if isinstance(baseline, str):
        reason = baseline
    else:
        power = plan_power(candidate, request.minimum_effect, baseline)
        notes += power.notes
        reason = power.reason
    qualifying = exposed = None
    if found is None:
        missing = f"no decisions on {candidate.placement} were sampled in the last {days} days"
        reason = missing if reason is None else f"{missing}; and {reason}"
    else:
        qualifying = daily * found.qualifying_share
        exposed = qualifying * (1.0 - found.taken_first_share) * (1.0 - candidate.holdout)
    days_to_detect = None
    if reason is None and power is not None and exposed is not None:
        if exposed <= 0:
            reason = "none of the sampled readers would be exposed to it"
        else:
            needed_days = power.visitors_needed / exposed
            if needed_days > MAX_DAYS_TO_DETECT:
                reason = f"it would take more than {MAX_DAYS_TO_DETECT} days"
            else:
                days_to_detect = max(1, math.ceil(needed_days - 1e-9))
    return DryRun(
        candidate.key,
        candidate.placement.value,
        start,
        end,
        days,
        total_samples,
        first_sample_at,
        daily,
        found,
        qualifying,
        exposed,
        power,
        days_to_detect,
        reason,
        tuple(notes),
        request.minimum_effect,
        candidate.priority,
    )


def _assumptions(
    candidate: Experiment,
    days: int,
    read: int,
    total: int,
    start: datetime,
    first_sample_at: datetime | None,
) -> list[str]:
    notes = [
        "Each sampled decision stands for 1 / its sample rate decisions; daily figures divide "
        f"their sum by the {days} days asked for.",
        "Decisions stand in for visitors: the log keeps no visitor ids, so a returning reader "
        "counts again; daily visitors are upper bounds and days to detect a lower bound.",
        "Qualifying share = share of decisions passing the targeting rules (the audience rule "
        f"against the supporter flag the decision saw) x traffic {candidate.traffic:g}.",
        "Another running experiment on the placement takes a reader when its rules pass and "
        "the reader is in its traffic (independent draws); one with higher priority wins the "
        f"placement first. {TIE_BREAK}",
        "Exposed daily visitors = qualifying x (1 - share taken first by other experiments on "
        f"this placement) x (1 - holdout {candidate.holdout:g}).",
    ]
    if read < total:
        notes.append(f"Shares are from the newest {read} of {total} samples.")
    if first_sample_at is not None and (first_sample_at - start).total_seconds() > 86_400:
        notes.append(
            f"The first sample is from {_iso(first_sample_at)}, after the window began: "
            "daily figures are underestimated."
        )
    if candidate.allocation == Allocation.bandit:
        notes.append("A bandit moves the weights during the test; the configured ones are used.")
    return notes


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)
