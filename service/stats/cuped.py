"""CUPED: the lift of a per-visitor metric y adjusted by a covariate x measured before exposure.

Regression adjustment (Deng, Xu, Kohavi & Walker, "Improving the Sensitivity of Online
Controlled Experiments by Utilizing Pre-Experiment Data", WSDM 2013) compares the arms on
y - θ·x instead of y. x cannot depend on the variant, so the adjustment moves no expected
difference; it only removes the part of y's variance that x predicts, Var(y)·(1 - ρ²) at the
best θ. Here x is the reader's article count as sent on their first decision request.

Everything follows gbstats 0.8.0 (`RegressionAdjustedStatistic`, `compute_theta` and how
`TTest` uses them), so a report agrees with GrowthBook's regression-adjusted t-test on the same
sums:

- θ = Cov(x, y) / Var(x) over both arms pooled (one θ per treatment against control), with
  y's pooled variance from its own kind (p(1 - p) for a proportion, n - 1 for a mean);
- per arm, adjusted mean ȳ - θ·x̄ and variance Var(y) + θ²·Var(x) - 2θ·Cov(x, y);
- the point estimate is the difference of adjusted means, divided by the *unadjusted* control
  mean when relative, and the delta-method variance takes the unadjusted means too; the Welch
  degrees of freedom take the adjusted variances;
- θ = 0 (x or y does not vary across both arms) falls back to the plain comparison.

Pure: sums in, numbers out.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.stats.frequentist import DifferenceType, EffectEstimate
from service.stats.summaries import SampleStats


@dataclass(frozen=True, slots=True)
class Covariate:
    """One arm's covariate sums over the same visitors as its metric: Σx, Σx² and Σx·y."""

    sum: float
    sum_squares: float
    sum_products: float


@dataclass(frozen=True, slots=True)
class AdjustedArm:
    """An arm's metric after adjustment: mean ȳ - θ·x̄ and the per-visitor variance of
    y - θ·x; unadjusted_mean is ȳ, which the relative lift divides by."""

    n: int
    mean: float
    unadjusted_mean: float
    variance: float


def theta(
    control: SampleStats, control_x: Covariate, treatment: SampleStats, treatment_x: Covariate
) -> float:
    """Cov(x, y) / Var(x) over both arms pooled; 0 when either x or y does not vary (gbstats
    compute_theta)."""
    n = control.n + treatment.n
    if n <= 1:
        return 0.0
    sum_y = control.sum + treatment.sum
    var_y = _variance(n, sum_y, control.sum_squares + treatment.sum_squares, control.kind)
    sum_x = control_x.sum + treatment_x.sum
    var_x = _variance(n, sum_x, control_x.sum_squares + treatment_x.sum_squares, "mean")
    if var_x == 0.0 or var_y == 0.0:
        return 0.0
    products = control_x.sum_products + treatment_x.sum_products
    return _covariance(n, sum_y, sum_x, products) / var_x


def adjust(metric: SampleStats, covariate: Covariate, theta: float) -> AdjustedArm:
    """The arm's metric adjusted by θ·x (gbstats RegressionAdjustedStatistic)."""
    n = metric.n
    mean_y = metric.sum / n if n else 0.0
    mean_x = covariate.sum / n if n else 0.0
    variance = 0.0
    if n > 1:
        variance = (
            _variance(n, metric.sum, metric.sum_squares, metric.kind)
            + theta * theta * _variance(n, covariate.sum, covariate.sum_squares, "mean")
            - 2.0 * theta * _covariance(n, metric.sum, covariate.sum, covariate.sum_products)
        )
    return AdjustedArm(n, mean_y - theta * mean_x, mean_y, variance)


def adjusted_effect(
    control: AdjustedArm, treatment: AdjustedArm, *, difference_type: DifferenceType
) -> EffectEstimate:
    """The lift on adjusted arms, as gbstats' TTest computes it from two
    RegressionAdjustedStatistics (see the module docstring)."""
    base, other = control.unadjusted_mean, treatment.unadjusted_mean
    var_c, var_t = control.variance, treatment.variance
    n_c, n_t = control.n, treatment.n
    if difference_type == "relative":
        point = (treatment.mean - control.mean) / base
        variance = var_t / (base * base * n_t) + var_c * other * other / (base**4 * n_c)
    else:
        point = treatment.mean - control.mean
        variance = var_t / n_t + var_c / n_c
    share_c, share_t = var_c / n_c, var_t / n_t
    dof = (share_c + share_t) ** 2 / (share_t**2 / (n_t - 1) + share_c**2 / (n_c - 1))
    return EffectEstimate(difference_type, point, variance, dof, n_c + n_t)


def _variance(n: int, total: float, squares: float, kind: str) -> float:
    if kind == "proportion":
        mean = total / n
        return mean * (1.0 - mean)
    return (squares - total * total / n) / (n - 1)


def _covariance(n: int, sum_y: float, sum_x: float, products: float) -> float:
    return (products - sum_y * sum_x / n) / (n - 1)
