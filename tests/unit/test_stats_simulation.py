"""Validation by simulation: error rates and coverage of the statistics on simulated experiments.

Sufficient statistics are simulated directly (a binomial count by its normal approximation,
revenue as a sum of log-normal gifts from converting visitors), from a seeded random.Random,
so every run draws the same experiments and the bounds below are deterministic. With 1,000
experiments the standard error of a 5 % rate is 0.7 %, so [3 %, 7 %] is about ±3 standard
errors around the nominal level.
"""

from __future__ import annotations

import math
import random

import pytest

from service.stats.compare import Comparison, compare
from service.stats.srm import srm_p_value
from service.stats.summaries import SampleStats

pytestmark = pytest.mark.slow

EXPERIMENTS = 1_000
ALPHA = 0.05
GIFT_MU, GIFT_SIGMA = math.log(10.0), 0.8  # log-normal gifts: median 10, mean ≈ 13.8
MEAN_GIFT = math.exp(GIFT_MU + GIFT_SIGMA**2 / 2)


def binomial(rng: random.Random, n: int, p: float) -> int:
    """Binomial(n, p) by its normal approximation (n·p ≥ 100 here), rounded and clamped."""
    draw = round(rng.gauss(n * p, math.sqrt(n * p * (1.0 - p))))
    return min(n, max(0, draw))


def conversions(rng: random.Random, n: int, p: float) -> SampleStats:
    return SampleStats.proportion(n, binomial(rng, n, p))


def revenue(rng: random.Random, n: int, p: float, gift_scale: float = 1.0) -> SampleStats:
    """Revenue per visitor: most give nothing, donors give a log-normal amount."""
    total = squares = 0.0
    for _ in range(binomial(rng, n, p)):
        gift = gift_scale * rng.lognormvariate(GIFT_MU, GIFT_SIGMA)
        total += gift
        squares += gift * gift
    return SampleStats(n=n, sum=total, sum_squares=squares)


def p_value(control: SampleStats, treatment: SampleStats, *, sequential: bool) -> float:
    result = compare(control, treatment, alpha=ALPHA, sequential=sequential)
    assert isinstance(result, Comparison), result
    return result.p_value


def test_fixed_horizon_false_positive_rate_on_aa_tests() -> None:
    rng = random.Random(20261127)
    conversion_hits = revenue_hits = 0
    for _ in range(EXPERIMENTS):
        a, b = conversions(rng, 10_000, 0.05), conversions(rng, 10_000, 0.05)
        conversion_hits += p_value(a, b, sequential=False) < ALPHA
        a, b = revenue(rng, 10_000, 0.05), revenue(rng, 10_000, 0.05)
        revenue_hits += p_value(a, b, sequential=False) < ALPHA
    assert 0.03 <= conversion_hits / EXPERIMENTS <= 0.07
    assert 0.03 <= revenue_hits / EXPERIMENTS <= 0.07


def test_sequential_test_peeked_daily_for_30_days_keeps_its_false_positive_rate() -> None:
    rng = random.Random(7)
    days, daily_visitors, rate = 30, 2_000, 0.05
    sequential_hits = naive_hits = 0
    for _ in range(EXPERIMENTS):
        n = converted_a = converted_b = 0
        sequential_rejected = naive_rejected = False
        for _day in range(days):
            n += daily_visitors
            converted_a += binomial(rng, daily_visitors, rate)
            converted_b += binomial(rng, daily_visitors, rate)
            a, b = SampleStats.proportion(n, converted_a), SampleStats.proportion(n, converted_b)
            sequential_rejected = sequential_rejected or p_value(a, b, sequential=True) < ALPHA
            naive_rejected = naive_rejected or p_value(a, b, sequential=False) < ALPHA
        sequential_hits += sequential_rejected
        naive_hits += naive_rejected
    assert sequential_hits / EXPERIMENTS <= ALPHA
    # the same peeking with the fixed-horizon test is what the sequential test guards against
    assert naive_hits / EXPERIMENTS > 0.1


def test_95_percent_intervals_cover_the_true_lift() -> None:
    rng = random.Random(1879)
    n, rate, true_lift = 20_000, 0.05, 0.10
    covered = {"relative": 0, "absolute": 0, "revenue": 0, "sequential": 0}
    for _ in range(EXPERIMENTS):
        control = conversions(rng, n, rate)
        treatment = conversions(rng, n, rate * (1 + true_lift))
        for name, relative, truth in (
            ("relative", True, true_lift),
            ("absolute", False, rate * true_lift),
        ):
            result = compare(control, treatment, alpha=ALPHA, sequential=False, relative=relative)
            assert isinstance(result, Comparison)
            covered[name] += result.ci[0] <= truth <= result.ci[1]
        result = compare(control, treatment, alpha=ALPHA, sequential=True)
        assert isinstance(result, Comparison)
        covered["sequential"] += result.ci[0] <= true_lift <= result.ci[1]
        # revenue: same donor rate, gifts 10 % larger in the treatment
        result = compare(
            revenue(rng, n, rate),
            revenue(rng, n, rate, gift_scale=1 + true_lift),
            alpha=ALPHA,
            sequential=False,
        )
        assert isinstance(result, Comparison)
        covered["revenue"] += result.ci[0] <= true_lift <= result.ci[1]
    for name in ("relative", "absolute", "revenue"):
        assert 0.93 <= covered[name] / EXPERIMENTS <= 0.97, (name, covered)
    assert covered["sequential"] / EXPERIMENTS >= 0.95  # always-valid: conservative at one look


def test_a_52_48_split_of_50000_visitors_is_flagged() -> None:
    assert srm_p_value([26_000, 24_000], [50, 50]).mismatch


def test_srm_rarely_cries_wolf_on_correct_splits() -> None:
    rng = random.Random(99)
    alarms = 0
    for _ in range(EXPERIMENTS):
        first = binomial(rng, 50_000, 0.5)
        alarms += srm_p_value([first, 50_000 - first], [50, 50]).mismatch
    assert alarms / EXPERIMENTS <= 0.005
