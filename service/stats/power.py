"""Sample sizes for comparing a treatment with control: fixed horizon and always-valid.

Notation: v_c, v_t the per-visitor variances of the metric in each arm; f_c, f_t the shares of
the pair's N = n_c + n_t visitors in each arm; δ the absolute difference to detect. Then
Var(difference) = s²/N with s² = v_c/f_c + v_t/f_t (the "spread" below).

Fixed horizon (a two-sided z-test at level alpha with power 1 - β):
    N = (z_{1-alpha/2} + z_{1-β})² · s² / δ²,
which with equal arms (f = ½) is the textbook
    n per arm = (z_{1-alpha/2} + z_{1-β})² (v_c + v_t) / δ²
(e.g. Chow, Shao & Wang, "Sample Size Calculations in Clinical Research", §4.2).

Always-valid (the asymptotic confidence sequence of service/stats/sequential.py): at N
visitors the interval's half-width is m(N)·s/√N with
    m(N) = √(2r · ln(√r / alpha) / (N·rho²)),   r = N·rho² + 1,
which is wider than z_{1-alpha/2} at every N (about 3 at N = the tuning size, for alpha =
0.05). We ask for the same power at the planned end: δ √N / s ≥ m(N) + z_{1-β}, and solve for
N. Stopping earlier when the interval already excludes 0 only helps, so this is conservative.
"""

from __future__ import annotations

import math

from service.stats.distributions import norm_ppf
from service.stats.sequential import DEFAULT_TUNING, rho


def z_sum(alpha: float, power: float) -> float:
    """z_{1-alpha/2} + z_{power}."""
    return norm_ppf(1.0 - alpha / 2.0) + norm_ppf(power)


def per_arm_equal_split(
    var_control: float, var_treatment: float, delta: float, *, alpha: float, power: float
) -> float:
    """Visitors per arm with two equal arms (the textbook formula; not rounded up)."""
    _check(delta, alpha, power)
    return z_sum(alpha, power) ** 2 * (var_control + var_treatment) / delta**2


def spread(var_control: float, var_treatment: float, share_control: float) -> float:
    """s² = v_c/f_c + v_t/f_t for a pair whose control gets `share_control` of its visitors."""
    if not 0.0 < share_control < 1.0:
        raise ValueError("each arm needs a share of visitors")
    return var_control / share_control + var_treatment / (1.0 - share_control)


def fixed_horizon_total(s2: float, delta: float, *, alpha: float, power: float) -> float:
    """N = n_c + n_t for a fixed-horizon test."""
    _check(delta, alpha, power)
    return z_sum(alpha, power) ** 2 * s2 / delta**2


def sequential_multiplier(n: float, alpha: float, tuning: float = DEFAULT_TUNING) -> float:
    """m(N): the confidence sequence's half-width in units of s/√N."""
    r2 = rho(alpha, tuning) ** 2
    r = n * r2 + 1.0
    return math.sqrt(2.0 * r * math.log(math.sqrt(r) / alpha) / (n * r2))


def sequential_total(
    s2: float, delta: float, *, alpha: float, power: float, tuning: float = DEFAULT_TUNING
) -> float:
    """N = n_c + n_t at which the always-valid interval detects δ with the given power."""
    _check(delta, alpha, power)
    s = math.sqrt(s2)
    z_power = norm_ppf(power)

    def short(n: float) -> bool:
        return delta * math.sqrt(n) / s < sequential_multiplier(n, alpha, tuning) + z_power

    # m(N) > z_{1-alpha/2} everywhere, so the fixed-horizon N is too few: a lower bracket.
    low = fixed_horizon_total(s2, delta, alpha=alpha, power=power)
    high = low * 2.0
    while short(high):
        low, high = high, high * 2.0
    for _ in range(100):  # bisection on a log scale, to well below one visitor
        middle = math.sqrt(low * high)
        if short(middle):
            low = middle
        else:
            high = middle
        if high - low < 0.01:
            break
    return high


def _check(delta: float, alpha: float, power: float) -> None:
    if not (delta > 0 and math.isfinite(delta)):
        raise ValueError("the difference to detect must be a positive number")
    if not (0.0 < alpha < 1.0 and 0.5 <= power < 1.0):
        raise ValueError("alpha must be in (0, 1) and power in [0.5, 1)")
