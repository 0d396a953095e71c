"""The dry run's duration estimate: how many exposed visitors an experiment needs before its
primary metric can show the minimum effect, at its alpha and 80 % power.

Per comparison of a treatment with control (service/stats/power.py has the formulas): the
conversion rate moves from p to p' = p·(1 + effect), per-visitor variances p(1-p) and
p'(1-p'); a revenue metric moves its mean by mean·effect with the same standard deviation in
both arms. Arms get visitors by weight, so the pair's N is divided by the pair's share of the
experiment's visitors; the slowest comparison sets the duration. With several treatments alpha is
split evenly (Bonferroni): the report's Holm adjustment is never stricter, so this errs long.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from service.domain.experiment import Experiment, PrimaryMetric
from service.stats.power import (
    fixed_horizon_total,
    per_arm_equal_split,
    sequential_total,
    spread,
)

POWER = 0.8
# Used for conversion_rate when neither the request nor the placement's history gives one: a
# typical share of readers who donate after seeing an ask.
DEFAULT_CONVERSION_BASELINE = 0.01
# Fewer exposed visitors than this on the placement, and history is not trusted for a baseline.
MIN_HISTORY_VISITORS = 1000
HISTORY_DAYS = 90
MAX_VISITORS = 1e12


@dataclass(frozen=True, slots=True)
class History:
    """The placement's exposed visitors over the last HISTORY_DAYS: sufficient statistics of
    the primary metric per visitor (for conversion_rate: 1 if they converted)."""

    visitors: int
    total: float
    total_squares: float


@dataclass(frozen=True, slots=True)
class Baseline:
    mean: float  # the conversion rate, or the mean per visitor
    sd: float | None  # per-visitor standard deviation; None for conversion_rate
    source: str  # "request", "history" or "default"
    visitors: int = 0  # behind a history baseline


def choose_baseline(
    metric: PrimaryMetric, mean: float | None, sd: float | None, history: History | None
) -> Baseline | str:
    """The request's values first, then the placement's history, then (conversion rate only)
    the default; or why there is no baseline."""
    trusted = history if history and history.visitors >= MIN_HISTORY_VISITORS else None
    if metric == PrimaryMetric.conversion_rate:
        if mean is not None:
            return Baseline(mean, None, "request")
        if trusted and 0 < trusted.total < trusted.visitors:
            return Baseline(trusted.total / trusted.visitors, None, "history", trusted.visitors)
        return Baseline(DEFAULT_CONVERSION_BASELINE, None, "default")
    past_mean = past_sd = None
    if trusted:
        past_mean = trusted.total / trusted.visitors
        variance = trusted.total_squares / trusted.visitors - past_mean**2
        past_sd = math.sqrt(variance) if variance > 0 else None
    chosen_mean = mean if mean is not None else past_mean
    chosen_sd = sd if sd is not None else past_sd
    if not chosen_mean or not chosen_sd:
        return (
            f"{metric} needs a baseline and baseline_sd: the placement has no history of "
            f"{MIN_HISTORY_VISITORS}+ exposed visitors with revenue in {HISTORY_DAYS} days"
        )
    source = "request" if mean is not None and sd is not None else "history"
    return Baseline(chosen_mean, chosen_sd, source, trusted.visitors if trusted else 0)


@dataclass(frozen=True, slots=True)
class PowerEstimate:
    metric: str
    alpha: float
    comparisons: int
    minimum_effect: float
    baseline: Baseline
    sequential: bool
    visitors_per_arm: int | None = None  # equal split, fixed horizon: the textbook figure
    sequential_factor: float | None = None  # always-valid N ÷ fixed-horizon N
    visitors_needed: float = 0.0  # exposed visitors over all arms, slowest comparison
    reason: str | None = None  # why there is no figure
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "alpha": self.alpha,
            "alpha_per_comparison": self.alpha / max(1, self.comparisons),
            "comparisons": self.comparisons,
            "power": POWER,
            "minimum_effect": self.minimum_effect,
            "sequential": self.sequential,
            "baseline": {
                "value": self.baseline.mean,
                "sd": self.baseline.sd,
                "source": self.baseline.source,
                "history_visitors": self.baseline.visitors,
            },
            "visitors_per_arm": self.visitors_per_arm,
            "visitors_needed": math.ceil(self.visitors_needed) if self.reason is None else None,
            "sequential_factor": (
                None if self.sequential_factor is None else round(self.sequential_factor, 3)
            ),
        }


def plan_power(candidate: Experiment, minimum_effect: float, baseline: Baseline) -> PowerEstimate:
    analysis = candidate.analysis
    metric = analysis.primary_metric
    weights = [v.weight for v in candidate.variants]
    treatments = [w for w in weights[1:] if w > 0]
    k = len(treatments)
    estimate = PowerEstimate(
        str(metric), analysis.alpha, k, minimum_effect, baseline, analysis.sequential
    )
    if k == 0:
        return _without(estimate, "a single-variant experiment has nothing to compare")
    if weights[0] <= 0:
        return _without(estimate, "the control variant has weight 0")
    if metric == PrimaryMetric.conversion_rate:
        p = baseline.mean
        moved = p * (1.0 + minimum_effect)
        if moved >= 1.0:
            return _without(estimate, "baseline x (1 + minimum_effect) reaches 1")
        var_c, var_t, delta = p * (1 - p), moved * (1 - moved), moved - p
    else:
        assert baseline.sd is not None
        var_c = var_t = baseline.sd**2
        delta = baseline.mean * minimum_effect
    alpha = analysis.alpha / k
    per_arm = math.ceil(per_arm_equal_split(var_c, var_t, delta, alpha=alpha, power=POWER))
    needed, factor = 0.0, None
    for weight in treatments:
        pair_share = (weights[0] + weight) / sum(weights)
        s2 = spread(var_c, var_t, weights[0] / (weights[0] + weight))
        fixed = fixed_horizon_total(s2, delta, alpha=alpha, power=POWER)
        n = sequential_total(s2, delta, alpha=alpha, power=POWER) if analysis.sequential else fixed
        if n / pair_share > needed:
            needed, factor = n / pair_share, (n / fixed if analysis.sequential else None)
    if needed > MAX_VISITORS:
        return _without(estimate, f"the effect is too small: over {MAX_VISITORS:.0e} visitors")
    notes = [
        f"Power: two-sided test of {metric} at alpha = {analysis.alpha:g}"
        + (f" ÷ {k} treatments (Bonferroni)" if k > 1 else "")
        + f", {POWER:.0%} power, minimum effect {minimum_effect:.1%} relative; "
        "n per arm = (z_{1-alpha/2} + z_0.8)² · (v_c + v_t) / δ², arms split by weight.",
        _baseline_note(metric, baseline),
    ]
    if factor is not None:
        notes.append(
            f"Always-valid intervals need {factor:.2f}x the visitors: their half-width at N "
            "visitors is √(2r·ln(√r/alpha)/(N·rho²)) standard errors (r = N·rho² + 1, rho "
            "tuned for N = 5000, as the report computes it), about 3 where z_{1-alpha/2} is "
            "1.96; N is solved so that the effect clears it with 80 % power at the planned end."
        )
    return dataclasses.replace(
        estimate,
        visitors_per_arm=per_arm,
        sequential_factor=factor,
        visitors_needed=needed,
        notes=notes,
    )


def _without(estimate: PowerEstimate, reason: str) -> PowerEstimate:
    return dataclasses.replace(estimate, reason=reason)


def _baseline_note(metric: PrimaryMetric, baseline: Baseline) -> str:
    value = (
        f"{baseline.mean:.4g}"
        if baseline.sd is None
        else f"mean {baseline.mean:.4g}, standard deviation {baseline.sd:.4g}"
    )
    source = {
        "request": "as given",
        "history": f"from {baseline.visitors} visitors exposed on this placement in the last "
        f"{HISTORY_DAYS} days",
        "default": "a default: no baseline given and too little history on this placement",
    }[baseline.source]
    spread_note = (
        "" if metric == PrimaryMetric.conversion_rate else "; the same spread in every arm"
    )
    return f"Baseline {value} ({source}){spread_note}."
