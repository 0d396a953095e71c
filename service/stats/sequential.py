"""Always-valid inference: asymptotic confidence sequences (Waudby-Smith et al.).

With `analysis.sequential` on, results may be looked at every day and acted on at any time:
the interval covers the true lift simultaneously at every sample size with probability
1 - alpha, so peeking does not inflate the false-positive rate. The price is a wider interval
than the fixed-horizon one at any single look.

Formulas: gbstats 0.8.0, gbstats/frequentist/tests.py `SequentialTwoSidedTTest`, which
implements I. Waudby-Smith, D. Arbour, R. Sinha, E. H. Kennedy, A. Ramdas, "Time-uniform
central limit theory and asymptotic confidence sequences", arXiv:2103.06476v7 (2023):
eq. 9 (the interval), eq. 161 (rho from the tuning parameter), eq. 155 (the p-value).
"""

from __future__ import annotations

import math

from service.stats.frequentist import EffectEstimate, IntervalTest

# gbstats' default `sequential_tuning_parameter`: the total sample size at which the
# confidence sequence is tightest (GrowthBook docs, "Sequential testing").
DEFAULT_TUNING = 5000.0


def rho(alpha: float, tuning: float = DEFAULT_TUNING) -> float:
    """rho = √((-2 ln alpha + ln(1 - 2 ln alpha)) / τ), eq. 161: the mixture parameter that
    makes the sequence narrowest when N = τ (gbstats SequentialTwoSidedTTest.rho)."""
    log_alpha = math.log(alpha)
    return math.sqrt((-2.0 * log_alpha + math.log(1.0 - 2.0 * log_alpha)) / tuning)


def confidence_sequence(
    effect: EffectEstimate, *, alpha: float, tuning: float = DEFAULT_TUNING
) -> IntervalTest:
    """The always-valid interval and p-value after N = n_c + n_t visitors.

    With V = Var(point), s² = N·V (the per-visitor variance of the effect) and r = N·rho² + 1:
      half-width = s · √(2r · ln(√r / alpha) / (N·rho)²)            (eq. 9)
      ln e = rho² · (N·point²/V) / (2r) - ½ ln r,  p = min(1, 1/e)   (eq. 155)
    The e-value is kept in logs: gbstats exponentiates and lets numpy overflow to inf (p = 0),
    where math.exp would raise; exp(-ln e) underflows to the same 0. The p-value is below
    alpha exactly when the interval excludes 0, so the two never disagree.
    """
    n = effect.n_total
    r2 = rho(alpha, tuning) ** 2
    spread = n * r2 + 1.0
    s2 = effect.variance * n
    half_width = math.sqrt(s2) * math.sqrt(
        2.0 * spread * math.log(math.sqrt(spread) / alpha) / (n * n * r2)
    )
    # gbstats' "st2": the squared z-statistic scaled by N.
    st2 = effect.point**2 * n / effect.variance
    log_evalue = r2 * st2 / (2.0 * spread) - 0.5 * math.log(spread)
    p_value = 1.0 if log_evalue <= 0.0 else math.exp(-log_evalue)
    return IntervalTest(ci=(effect.point - half_width, effect.point + half_width), p_value=p_value)
