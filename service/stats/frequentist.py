"""Fixed-horizon Welch t-test of the lift, absolute or relative (delta method).

Everything here follows gbstats 0.8.0, gbstats/frequentist/tests.py (`frequentist_diff`,
`frequentist_variance`, `TTest.dof`, `TwoSidedTTest`), so results agree with GrowthBook on the
same sufficient statistics. Callers validate first (see `compare.py`): both arms have n ≥ 2,
at least one arm has positive variance, and for a relative lift the control mean is non-zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from service.stats.distributions import t_isf, t_sf
from service.stats.summaries import SampleStats

DifferenceType = Literal["relative", "absolute"]


@dataclass(frozen=True, slots=True)
class EffectEstimate:
    """The estimated lift of treatment over control and the sampling variance of that estimate.

    point: (m_t - m_c)/m_c when relative, m_t - m_c when absolute.
    variance: Var(point); its square root is the standard error.
    dof: Welch-Satterthwaite degrees of freedom (the same for both difference types).
    n_total: visitors in both arms, the "time" of the sequential test.
    """

    difference_type: DifferenceType
    point: float
    variance: float
    dof: float
    n_total: int

    @property
    def standard_error(self) -> float:
        return math.sqrt(self.variance)


@dataclass(frozen=True, slots=True)
class IntervalTest:
    """A two-sided interval for the lift at level 1 - alpha and the p-value against no lift."""

    ci: tuple[float, float]
    p_value: float


def estimate_effect(
    control: SampleStats, treatment: SampleStats, *, difference_type: DifferenceType
) -> EffectEstimate:
    """Point estimate and variance of the lift.

    Absolute: Var = s_t²/n_t + s_c²/n_c (Welch).
    Relative: the delta method for the ratio of two independent means,
    Var((m_t - m_c)/m_c) ≈ s_t²/(m_c² n_t) + s_c² m_t²/(m_c⁴ n_c)
    (gbstats frequentist_variance; Deng, Knoblich & Lu, "Applying the Delta Method in Metric
    Analytics", KDD 2018).
    """
    mean_c, mean_t = control.mean, treatment.mean
    var_c, var_t = control.variance, treatment.variance
    n_c, n_t = control.n, treatment.n
    if difference_type == "relative":
        point = (mean_t - mean_c) / mean_c
        variance = var_t / (mean_c * mean_c * n_t) + var_c * mean_t * mean_t / (
            mean_c * mean_c * mean_c * mean_c * n_c
        )
    else:
        point = mean_t - mean_c
        variance = var_t / n_t + var_c / n_c
    return EffectEstimate(
        difference_type=difference_type,
        point=point,
        variance=variance,
        dof=welch_dof(control, treatment),
        n_total=n_c + n_t,
    )


def welch_dof(control: SampleStats, treatment: SampleStats) -> float:
    """Welch-Satterthwaite: df = (s_t²/n_t + s_c²/n_c)² / Σ (s²/n)²/(n - 1) (gbstats TTest.dof;
    Welch, Biometrika 34, 1947). gbstats uses the same df for relative lifts."""
    share_c = control.variance / control.n
    share_t = treatment.variance / treatment.n
    return (share_c + share_t) ** 2 / (
        share_t**2 / (treatment.n - 1) + share_c**2 / (control.n - 1)
    )


def fixed_horizon_test(effect: EffectEstimate, *, alpha: float) -> IntervalTest:
    """Two-sided Welch t-test of the lift against 0 (gbstats TwoSidedTTest):
    CI = point ± t_{1-alpha/2, df}·se and p = 2·P(T_df > |point/se|).

    The p-value is the t tail computed directly, where gbstats takes 2·(1 - cdf): the two agree
    to ~1e-16 absolute, and ours keeps the digits of very small p-values.
    """
    se = effect.standard_error
    width = t_isf(alpha / 2.0, effect.dof) * se
    p_value = min(1.0, 2.0 * t_sf(abs(effect.point) / se, effect.dof))
    return IntervalTest(ci=(effect.point - width, effect.point + width), p_value=p_value)
