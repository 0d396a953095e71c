"""One treatment against control: the single entry point reports use.

`compare` validates the sufficient statistics, estimates the lift once (gbstats' point estimate
and delta-method variance), and derives from it the interval and p-value of the experiment's
analysis mode (fixed-horizon Welch t-test, or an always-valid confidence sequence) and the
flat-prior Bayesian chance to beat control, risk and credible interval. Which of the two sets
a report shows is the experiment's engine (service/domain/report_variants.py); both are cheap. It
never raises and never returns NaN or inf: anything it cannot answer comes back as
`Unavailable` with a reason a person can read.
`compare_arms` does the same for several treatments and adds Holm-adjusted p-values.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from service.stats.bayesian import flat_prior_posterior
from service.stats.corrections import holm_adjust
from service.stats.cuped import AdjustedArm, Covariate, adjust, adjusted_effect, theta
from service.stats.frequentist import (
    DifferenceType,
    EffectEstimate,
    IntervalTest,
    estimate_effect,
    fixed_horizon_test,
)
from service.stats.sequential import DEFAULT_TUNING, confidence_sequence
from service.stats.summaries import SampleStats

Analysis = Literal["fixed", "sequential"]
UnavailableCode = Literal[
    "invalid_alpha",
    "invalid_tuning",
    "mixed_metric_kinds",
    "no_visitors",
    "too_few_visitors",
    "zero_control_mean",
    "negative_control_mean",
    "no_variance",
    "not_finite",
]


@dataclass(frozen=True, slots=True)
class Unavailable:
    """No comparison: `reason` is for people (the report's {"error": reason}), `code` for code."""

    code: UnavailableCode
    reason: str


@dataclass(frozen=True, slots=True)
class Comparison:
    """Treatment against control on one metric.

    lift, ci, p_value: the effect in `difference_type` units — a fraction of the control mean
    when relative (0.05 = +5 %), metric units per visitor when absolute — with its interval at
    level 1 - alpha and p-value, both from the `analysis` mode (fixed horizon or always-valid).
    p_value_adjusted: Holm-adjusted across the treatments of `compare_arms`; equal to p_value
    for a lone comparison.
    chance_to_beat_control, risk, risk_control: flat-prior Bayesian, in the units of `lift`;
    risk is the expected loss of shipping the treatment, E[max(0, -lift)] (see bayesian.py);
    credible_interval is the posterior's central 1 - alpha interval of the lift.
    They do not depend on the analysis mode.
    absolute_difference, absolute_ci: treatment mean - control mean and its interval in the
    same analysis mode, whatever `difference_type` is.
    variance_reduction: with CUPED (see cuped.py), the share of the lift's sampling variance
    the adjustment removed (0.23 = 23 %; the interval narrows by 1 - sqrt(1 - 0.23)); None
    without it, or when the covariate could not help (it did not vary).
    """

    difference_type: DifferenceType
    analysis: Analysis
    alpha: float
    control_mean: float
    treatment_mean: float
    lift: float
    standard_error: float
    ci: tuple[float, float]
    p_value: float
    p_value_adjusted: float
    chance_to_beat_control: float
    risk: float
    risk_control: float
    credible_interval: tuple[float, float]
    absolute_difference: float
    absolute_ci: tuple[float, float]
    variance_reduction: float | None = None

    @property
    def relative_lift(self) -> float | None:
        """The relative lift, or None when the comparison was made on absolute differences."""
        return self.lift if self.difference_type == "relative" else None


def compare(
    control: SampleStats,
    treatment: SampleStats,
    *,
    alpha: float,
    sequential: bool,
    relative: bool = True,
    tuning: float = DEFAULT_TUNING,
    covariates: tuple[Covariate, Covariate] | None = None,
) -> Comparison | Unavailable:
    """Compare treatment with control (see the module docstring); `tuning` is the
    confidence sequence's tuning parameter, gbstats' default 5000. `covariates` (control's,
    treatment's): compare with CUPED's regression adjustment (cuped.py)."""
    problem = _check_inputs(control, treatment, alpha=alpha, relative=relative)
    if problem is None and sequential and not (math.isfinite(tuning) and tuning > 0.0):
        problem = Unavailable(
            "invalid_tuning", f"the tuning parameter must be positive, not {tuning}"
        )
    if problem is not None:
        return problem
    try:
        comparison = _compute(
            control,
            treatment,
            alpha=alpha,
            sequential=sequential,
            relative=relative,
            tuning=tuning,
            covariates=covariates,
        )
    except (ArithmeticError, ValueError):
        # Only reachable with absurd magnitudes (e.g. means near 1e±300): an overflow in a
        # power or exp, or a log of 0. The promise is a reason, never an exception.
        comparison = None
    if isinstance(comparison, Unavailable):
        return comparison
    if comparison is None or not _all_finite(comparison):
        return Unavailable("not_finite", "the figures are too extreme to compare reliably")
    return comparison


def _compute(
    control: SampleStats,
    treatment: SampleStats,
    *,
    alpha: float,
    sequential: bool,
    relative: bool,
    tuning: float,
    covariates: tuple[Covariate, Covariate] | None = None,
) -> Comparison | Unavailable:
    difference_type: DifferenceType = "relative" if relative else "absolute"
    effect = estimate_effect(control, treatment, difference_type=difference_type)
    plain_variance = effect.variance
    adjusted = _adjusted(control, treatment, covariates)
    if adjusted is not None:
        effect = adjusted_effect(*adjusted, difference_type=difference_type)
    if not effect.variance > 0.0:
        # Possible for a relative lift when the treatment mean is 0 without variance: the
        # delta-method variance s_c²·m_t²/(m_c⁴ n_c) + 0 vanishes.
        return Unavailable(
            "no_variance",
            "the lift has no sampling variance (the treatment mean is 0 and does not vary), "
            "so no interval can be given yet",
        )
    absolute = (
        effect
        if difference_type == "absolute"
        else adjusted_effect(*adjusted, difference_type="absolute")
        if adjusted is not None
        else estimate_effect(control, treatment, difference_type="absolute")
    )

    def interval(estimate: EffectEstimate) -> IntervalTest:
        if sequential:
            return confidence_sequence(estimate, alpha=alpha, tuning=tuning)
        return fixed_horizon_test(estimate, alpha=alpha)

    main = interval(effect)
    absolute_interval = main if absolute is effect else interval(absolute)
    posterior = flat_prior_posterior(effect, alpha=alpha)
    return Comparison(
        difference_type=difference_type,
        analysis="sequential" if sequential else "fixed",
        alpha=alpha,
        control_mean=control.mean,
        treatment_mean=treatment.mean,
        lift=effect.point,
        standard_error=effect.standard_error,
        ci=main.ci,
        p_value=main.p_value,
        p_value_adjusted=main.p_value,
        chance_to_beat_control=posterior.chance_to_beat_control,
        risk=posterior.risk,
        risk_control=posterior.risk_control,
        credible_interval=posterior.credible_interval,
        absolute_difference=absolute.point,
        absolute_ci=absolute_interval.ci,
        variance_reduction=(
            1.0 - effect.variance / plain_variance
            if adjusted is not None and plain_variance > 0.0
            else None
        ),
    )


def _adjusted(
    control: SampleStats,
    treatment: SampleStats,
    covariates: tuple[Covariate, Covariate] | None,
) -> tuple[AdjustedArm, AdjustedArm] | None:
    """Both arms adjusted by the pooled θ, or None for the plain comparison: no covariates,
    θ = 0 as gbstats falls back, or an adjusted arm without variance or with a zero mean
    (gbstats declines those; the plain comparison is still sound)."""
    if covariates is None:
        return None
    control_x, treatment_x = covariates
    slope = theta(control, control_x, treatment, treatment_x)
    if slope == 0.0:
        return None
    arms = adjust(control, control_x, slope), adjust(treatment, treatment_x, slope)
    if any(arm.variance <= 0.0 for arm in arms) or arms[0].mean == 0.0:
        return None
    return arms


def compare_arms(
    control: SampleStats,
    treatments: Sequence[SampleStats],
    *,
    alpha: float,
    sequential: bool,
    relative: bool = True,
    tuning: float = DEFAULT_TUNING,
    covariates: Sequence[Covariate] | None = None,
) -> list[Comparison | Unavailable]:
    """`compare` for each treatment, with p_value_adjusted Holm-adjusted over the comparisons
    that could be made (an unavailable one spends no error rate; see corrections.py).
    `covariates`: CUPED, control's then each treatment's, in order."""
    results = [
        compare(
            control,
            t,
            alpha=alpha,
            sequential=sequential,
            relative=relative,
            tuning=tuning,
            covariates=None if covariates is None else (covariates[0], covariates[i + 1]),
        )
        for i, t in enumerate(treatments)
    ]
    made = [(i, r) for i, r in enumerate(results) if isinstance(r, Comparison)]
    adjusted = holm_adjust([comparison.p_value for _, comparison in made])
    for (index, comparison), p_adjusted in zip(made, adjusted, strict=True):
        results[index] = dataclasses.replace(comparison, p_value_adjusted=p_adjusted)
    return results


def _check_inputs(
    control: SampleStats, treatment: SampleStats, *, alpha: float, relative: bool
) -> Unavailable | None:
    # The order matters only for which reason is shown when several apply; it follows gbstats
    # (baseline zero before zero variance), with the emptiness checks first.
    if not (isinstance(alpha, int | float) and 0.0 < alpha < 1.0):
        return Unavailable("invalid_alpha", f"alpha must lie strictly between 0 and 1, not {alpha}")
    if control.kind != treatment.kind:
        return Unavailable(
            "mixed_metric_kinds", "control and treatment hold different kinds of metric"
        )
    empty = [name for name, arm in (("control", control), ("treatment", treatment)) if arm.n == 0]
    if empty:
        return Unavailable("no_visitors", f"no visitors in {' or '.join(empty)} yet")
    for name, arm in (("control", control), ("treatment", treatment)):
        if arm.n < 2:
            return Unavailable(
                "too_few_visitors", f"{name} has {arm.n} visitor; at least 2 per arm are needed"
            )
    if relative and control.mean == 0.0:
        return Unavailable(
            "zero_control_mean",
            "the control mean is 0 (e.g. no conversions yet), so a relative lift is undefined",
        )
    if relative and control.mean < 0.0:
        return Unavailable(
            "negative_control_mean", "the control mean is negative, so a relative lift is undefined"
        )
    if control.variance <= 0.0 and treatment.variance <= 0.0:
        return Unavailable(
            "no_variance",
            "neither arm varies (every visitor has the same value), so there is nothing to test",
        )
    return None


def _all_finite(c: Comparison) -> bool:
    values = [getattr(c, f.name) for f in dataclasses.fields(c)]
    return all(
        math.isfinite(number)
        for value in values
        if not isinstance(value, str | None)  # difference_type, analysis; no reduction
        for number in (value if isinstance(value, tuple) else (value,))
    )
