"""The bandit's allocation rule: new weights from the evidence so far; pure, no I/O.

Every `cadence_minutes` the job reads each variant's sufficient statistics on the primary
metric and asks `plan_weights` for weights:
1. until every variant has `min_visitors` exposed visitors and `min_conversions` converting
   ones, the split stays even: too little evidence to move on (the reason says who is short);
2. then Thompson sampling estimates P(variant is best) (service/stats/thompson.py) and each
   variant gets floor + (1 - k·floor)·P(best) of new traffic, so none ever falls below its floor
   and the shares add up to 1;
3. a move of less than MIN_MOVE (on every variant) is not made: it would add an audited
   revision and a stratum to the report for a difference within the sampling noise of P(best).
Only visitors without an assignment follow new weights: the ledger keeps everyone else where
they are (DESIGN §2).
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from service.domain.arm_totals import ArmTotals
from service.domain.experiment import Experiment
from service.domain.report_metrics import metric_stats
from service.stats.thompson import DEFAULT_DRAWS, chance_to_be_best

# Weights are written as percentages with two decimals: whole units of 0.01 %.
UNITS = 10_000
MIN_MOVE = 0.01


@dataclass(frozen=True, slots=True)
class WeightPlan:
    """weights: percentages per variant key (adding up to 100); changed: whether they differ
    from the current ones enough to apply; reason: for people; details: per-arm evidence."""

    weights: dict[str, float]
    changed: bool
    reason: str
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class WeightChange:
    """A row of the weight history: the weights in use from `effective_at` on."""

    effective_at: datetime
    weights: dict[str, float]
    reason: str
    details: dict[str, Any]


def shares(weights: Mapping[str, float]) -> dict[str, float]:
    """Relative weights as fractions of 1."""
    total = sum(weights.values())
    return {key: value / total for key, value in weights.items()} if total > 0 else {}


def current_weights(experiment: Experiment) -> dict[str, float]:
    return {variant.key: variant.weight for variant in experiment.variants}


def same_split(a: Mapping[str, float], b: Mapping[str, float], tolerance: float = 1e-9) -> bool:
    """Whether two sets of relative weights split traffic the same way."""
    left, right = shares(a), shares(b)
    return left.keys() == right.keys() and all(
        abs(left[key] - right[key]) <= tolerance for key in left
    )


def slot_start(now: datetime, cadence_minutes: int) -> datetime:
    """The start of the cadence slot holding `now`: slots are aligned on the Unix epoch, so an
    hourly bandit moves on the hour and every replica agrees on the slot."""
    width = cadence_minutes * 60
    seconds = math.floor(now.timestamp() / width) * width
    return datetime.fromtimestamp(seconds, UTC)


def is_due(last: datetime | None, now: datetime, cadence_minutes: int) -> bool:
    """Due when nothing was recorded yet in the slot holding `now`."""
    return last is None or last < slot_start(now, cadence_minutes)


def slot_rng(experiment_key: str, slot: datetime) -> random.Random:
    """The generator for one evaluation: seeded by experiment and slot, so replicas racing for
    the same slot compute the same weights (str seeds hash the same in every process)."""
    return random.Random(f"{experiment_key}@{slot.astimezone(UTC).isoformat()}")


def plan_weights(
    experiment: Experiment,
    totals: Mapping[str, ArmTotals],
    rng: random.Random,
    *,
    draws: int = DEFAULT_DRAWS,
) -> WeightPlan:
    """The weights the bandit wants now (see the module docstring)."""
    settings = experiment.bandit
    keys = [variant.key for variant in experiment.variants]
    arms = [totals.get(key, ArmTotals(key)) for key in keys]
    metric = str(experiment.analysis.primary_metric)
    current = current_weights(experiment)
    details: dict[str, Any] = {
        "metric": metric,
        "arms": {
            arm.variant: {"visitors": arm.visitors, "conversions": arm.converters} for arm in arms
        },
    }
    short = [
        arm
        for arm in arms
        if arm.visitors < settings.min_visitors or arm.converters < settings.min_conversions
    ]
    if short:
        weights = _percentages(keys, [1.0 / len(keys)] * len(keys), settings.floor)
        need = f"{settings.min_visitors} visitors and {settings.min_conversions} conversions"
        who = "; ".join(
            f"{arm.variant} has {arm.visitors} and {arm.converters}" for arm in short[:3]
        )
        reason = f"exploring: every variant needs {need} before weights move ({who})"
        return WeightPlan(weights, not same_split(weights, current), reason, details)
    best = chance_to_be_best([metric_stats(arm, metric) for arm in arms], rng, draws=draws)
    for arm, chance in zip(arms, best, strict=True):
        details["arms"][arm.variant]["p_best"] = chance
    free = 1.0 - len(keys) * settings.floor
    wanted = [settings.floor + free * chance for chance in best]
    weights = _percentages(keys, wanted, settings.floor)
    leader, chance = max(zip(keys, best, strict=True), key=lambda pair: pair[1])
    summary = f"Thompson sampling on {metric.replace('_', ' ')}: P(best) {leader} {chance:.0%}"
    now, before = shares(weights), shares(current)
    moved = before.keys() != now.keys() or any(
        abs(now[key] - before[key]) >= MIN_MOVE for key in now
    )
    if not moved:
        return WeightPlan(
            {key: current[key] for key in keys},
            False,
            f"{summary}; kept: no variant would move by {MIN_MOVE:.0%} of traffic",
            details,
        )
    return WeightPlan(weights, True, summary, details)


def with_weights(experiment: Experiment, weights: Mapping[str, float]) -> Experiment:
    variants = tuple(dataclasses.replace(v, weight=weights[v.key]) for v in experiment.variants)
    return dataclasses.replace(experiment, variants=variants)


def _percentages(keys: Sequence[str], fractions: Sequence[float], floor: float) -> dict[str, float]:
    """Fractions as percentages in whole units of 0.01 % that add up to exactly 100 and keep
    every variant at or above the floor: the floor's units first, then the rest by largest
    remainder (Hamilton's method), so rounding can never push a variant below its floor."""
    floor_units = min(math.ceil(floor * UNITS - 1e-6), UNITS // len(keys))
    spare = UNITS - floor_units * len(keys)
    extra = [max(0.0, f - floor_units / UNITS) for f in fractions]
    scale = sum(extra)
    wanted = [e / scale * spare if scale > 0 else spare / len(keys) for e in extra]
    units = [math.floor(w) for w in wanted]
    order = sorted(range(len(keys)), key=lambda i: wanted[i] - units[i], reverse=True)
    for i in order[: spare - sum(units)]:
        units[i] += 1
    return {key: (floor_units + u) / 100 for key, u in zip(keys, units, strict=True)}
