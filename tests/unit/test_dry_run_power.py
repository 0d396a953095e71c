"""The power calculation behind the dry run's "days to detect": textbook values, unequal
splits, and the always-valid (sequential) price, tied to the report's own interval code."""

from __future__ import annotations

import math

import pytest

from service.domain.dry_run_power import (
    DEFAULT_CONVERSION_BASELINE,
    MIN_HISTORY_VISITORS,
    Baseline,
    History,
    choose_baseline,
    plan_power,
)
from service.domain.experiment import PrimaryMetric
from service.schemas.experiment import parse_experiment
from service.stats.frequentist import EffectEstimate
from service.stats.power import (
    fixed_horizon_total,
    per_arm_equal_split,
    sequential_multiplier,
    sequential_total,
    spread,
)
from service.stats.sequential import confidence_sequence
from tests.support import banner, experiment_doc


def test_per_arm_size_matches_the_textbook_value() -> None:
    # p1 = 5 %, p2 = 10 %, two-sided alpha = 0.05, 80 % power: 432 per group (unpooled variance).
    n = per_arm_equal_split(0.05 * 0.95, 0.10 * 0.90, 0.05, alpha=0.05, power=0.8)
    assert math.ceil(n) == 432
    # Means differing by half a standard deviation: 2·(1.96 + 0.84)²/0.25 = 62.8 per group.
    assert math.ceil(per_arm_equal_split(1.0, 1.0, 0.5, alpha=0.05, power=0.8)) == 63
    # A stricter alpha or more power needs more visitors.
    assert per_arm_equal_split(1.0, 1.0, 0.5, alpha=0.01, power=0.8) > 63
    assert per_arm_equal_split(1.0, 1.0, 0.5, alpha=0.05, power=0.9) > 63


def test_an_uneven_split_needs_more_visitors_in_total() -> None:
    even = fixed_horizon_total(spread(1.0, 1.0, 0.5), 0.1, alpha=0.05, power=0.8)
    assert even == pytest.approx(2 * per_arm_equal_split(1.0, 1.0, 0.1, alpha=0.05, power=0.8))
    skewed = fixed_horizon_total(spread(1.0, 1.0, 0.25), 0.1, alpha=0.05, power=0.8)
    assert skewed / even == pytest.approx((4 + 4 / 3) / 4)
    with pytest.raises(ValueError):
        spread(1.0, 1.0, 1.0)


def test_the_sequential_multiplier_is_the_reports_always_valid_half_width() -> None:
    for n in (200, 5000, 80_000, 2_000_000):
        variance_per_visitor = 3.0
        effect = EffectEstimate("absolute", 0.1, variance_per_visitor / n, n - 2.0, n)  # type: ignore[arg-type]
        low, high = confidence_sequence(effect, alpha=0.05).ci
        half_width = (high - low) / 2
        expected = sequential_multiplier(n, 0.05) * math.sqrt(variance_per_visitor / n)
        assert half_width == pytest.approx(expected, rel=1e-12)
        assert sequential_multiplier(n, 0.05) > 1.96  # always wider than the fixed interval


def test_sequential_sample_size_solves_the_power_condition() -> None:
    s2, delta = spread(0.02 * 0.98, 0.022 * 0.978, 0.5), 0.002
    fixed = fixed_horizon_total(s2, delta, alpha=0.05, power=0.8)
    n = sequential_total(s2, delta, alpha=0.05, power=0.8)
    # δ·√N/s = m(N) + z_0.8 at the answer, and the answer is a typical 1.5-3x the fixed one.
    z_power = 0.8416212335729143
    assert delta * math.sqrt(n / s2) == pytest.approx(sequential_multiplier(n, 0.05) + z_power)
    assert 1.5 < n / fixed < 3.0
    assert delta * math.sqrt(n * 0.99 / s2) < sequential_multiplier(n * 0.99, 0.05) + z_power


def test_plan_power_splits_by_weight_and_corrects_for_several_treatments() -> None:
    two = parse_experiment(experiment_doc(analysis={"primary_metric": "conversion_rate"}))
    base = Baseline(0.05, None, "request")
    estimate = plan_power(two, 1.0, base)  # 5 % -> 10 %
    assert estimate.reason is None
    assert estimate.visitors_per_arm == 432
    assert estimate.visitors_needed == pytest.approx(2 * 431.69, rel=1e-3)
    assert estimate.sequential_factor is None

    three = parse_experiment(
        experiment_doc(
            analysis={"primary_metric": "conversion_rate"},
            variants=[
                {"key": "control", "weight": 50, "banner": banner()},
                {"key": "b", "weight": 25, "banner": banner()},
                {"key": "c", "weight": 25, "banner": banner()},
            ],
        )
    )
    corrected = plan_power(three, 1.0, base)
    assert corrected.comparisons == 2
    assert corrected.as_dict()["alpha_per_comparison"] == pytest.approx(0.025)
    assert corrected.visitors_per_arm is not None and corrected.visitors_per_arm > 432
    # control 50 %, each treatment 25 %: a pair gets 75 % of visitors, split 2:1.
    pair = fixed_horizon_total(spread(0.05 * 0.95, 0.1 * 0.9, 2 / 3), 0.05, alpha=0.025, power=0.8)
    assert corrected.visitors_needed == pytest.approx(pair / 0.75)


def test_sequential_analysis_asks_for_more_and_says_by_how_much() -> None:
    doc = experiment_doc(analysis={"primary_metric": "conversion_rate", "sequential": True})
    estimate = plan_power(parse_experiment(doc), 0.1, Baseline(0.02, None, "request"))
    assert estimate.sequential_factor is not None and 1.5 < estimate.sequential_factor < 3
    plain = parse_experiment(experiment_doc(analysis={"primary_metric": "conversion_rate"}))
    fixed = plan_power(plain, 0.1, Baseline(0.02, None, "request"))
    assert estimate.visitors_needed == pytest.approx(
        fixed.visitors_needed * estimate.sequential_factor
    )
    assert any("Always-valid intervals need" in note for note in estimate.notes)


def test_revenue_metrics_use_the_baseline_mean_and_spread() -> None:
    experiment = parse_experiment(experiment_doc())  # revenue_per_visitor by default
    estimate = plan_power(experiment, 0.5, Baseline(1.0, 2.0, "request"))
    # δ = 0.5, sd = 2 in both arms: n = (z)²·(4 + 4)/0.25 per arm.
    assert estimate.visitors_per_arm == math.ceil(7.848879734349 * 8 / 0.25)


def test_nothing_to_compare_is_a_reason_not_a_number() -> None:
    single = parse_experiment(
        experiment_doc(variants=[{"key": "control", "weight": 1, "banner": banner()}])
    )
    estimate = plan_power(single, 0.1, Baseline(0.02, None, "default"))
    assert estimate.reason == "a single-variant experiment has nothing to compare"
    assert estimate.as_dict()["visitors_needed"] is None
    tiny = plan_power(parse_experiment(experiment_doc()), 0.001, Baseline(1e-6, 1e9, "request"))
    assert tiny.reason is not None and "too small" in tiny.reason


def test_baseline_comes_from_the_request_then_history_then_a_default() -> None:
    rate = PrimaryMetric.conversion_rate
    history = History(visitors=MIN_HISTORY_VISITORS * 2, total=60, total_squares=60)
    assert choose_baseline(rate, 0.04, None, history) == Baseline(0.04, None, "request")
    assert choose_baseline(rate, None, None, history) == Baseline(
        0.03, None, "history", MIN_HISTORY_VISITORS * 2
    )
    little = History(visitors=10, total=5, total_squares=5)
    assert choose_baseline(rate, None, None, little) == Baseline(
        DEFAULT_CONVERSION_BASELINE, None, "default"
    )

    revenue = PrimaryMetric.revenue_per_visitor
    # 2000 visitors, revenue mean 0.5 and variance 2.25 - 0.25 = 2.0.
    spent = History(visitors=2000, total=1000.0, total_squares=4500.0)
    from_history = choose_baseline(revenue, None, None, spent)
    assert isinstance(from_history, Baseline)
    assert (from_history.mean, from_history.sd, from_history.source) == (
        0.5,
        pytest.approx(math.sqrt(2.0)),
        "history",
    )
    assert choose_baseline(revenue, 2.0, 3.0, None) == Baseline(2.0, 3.0, "request")
    missing = choose_baseline(revenue, 2.0, None, None)
    assert isinstance(missing, str) and "baseline_sd" in missing
