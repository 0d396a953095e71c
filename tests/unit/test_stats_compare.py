"""compare / compare_arms: the shape of results, degenerate inputs, and invariants."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.stats.compare import Comparison, Unavailable, compare, compare_arms
from service.stats.summaries import SampleStats

CONTROL = SampleStats.proportion(10_412, 212)
TREATMENT = SampleStats.proportion(10_380, 261)


def made(result: Comparison | Unavailable) -> Comparison:
    assert isinstance(result, Comparison), result
    return result


def test_relative_comparison_carries_the_absolute_difference_too() -> None:
    result = made(compare(CONTROL, TREATMENT, alpha=0.05, sequential=False))
    assert result.relative_lift == result.lift
    assert result.lift == pytest.approx((261 / 10_380 - 212 / 10_412) / (212 / 10_412))
    assert result.absolute_difference == pytest.approx(261 / 10_380 - 212 / 10_412)
    assert result.absolute_ci[0] < result.absolute_difference < result.absolute_ci[1]
    assert (result.control_mean, result.treatment_mean) == (CONTROL.mean, TREATMENT.mean)
    assert result.analysis == "fixed"


def test_absolute_comparison_has_no_relative_lift() -> None:
    result = made(compare(CONTROL, TREATMENT, alpha=0.05, sequential=False, relative=False))
    assert result.relative_lift is None
    assert result.lift == result.absolute_difference
    assert result.ci == result.absolute_ci


def test_the_always_valid_interval_is_wider_and_agrees_with_its_p_value() -> None:
    fixed = made(compare(CONTROL, TREATMENT, alpha=0.05, sequential=False))
    seq = made(compare(CONTROL, TREATMENT, alpha=0.05, sequential=True))
    assert seq.ci[0] < fixed.ci[0] and seq.ci[1] > fixed.ci[1]
    assert seq.p_value > fixed.p_value
    # Bayesian figures do not depend on the analysis mode
    assert seq.chance_to_beat_control == fixed.chance_to_beat_control
    assert seq.risk == fixed.risk


def test_risk_is_the_expected_loss_of_shipping_the_treatment() -> None:
    ahead = made(compare(CONTROL, TREATMENT, alpha=0.05, sequential=False))
    behind = made(compare(TREATMENT, CONTROL, alpha=0.05, sequential=False, relative=False))
    assert ahead.risk < ahead.risk_control
    assert behind.risk > behind.risk_control
    for result in (ahead, behind):
        assert result.risk_control - result.risk == pytest.approx(result.lift, rel=1e-9)


@pytest.mark.parametrize(
    ("control", "treatment", "relative", "code"),
    [
        (SampleStats.proportion(0, 0), SampleStats.proportion(100, 3), True, "no_visitors"),
        (SampleStats.proportion(0, 0), SampleStats.proportion(0, 0), False, "no_visitors"),
        (SampleStats(1, 5.0, 25.0), SampleStats(10, 20.0, 90.0), False, "too_few_visitors"),
        (SampleStats.proportion(500, 0), SampleStats.proportion(500, 4), True, "zero_control_mean"),
        (SampleStats(50, -10.0, 20.0), SampleStats(50, 5.0, 20.0), True, "negative_control_mean"),
        (SampleStats.proportion(500, 0), SampleStats.proportion(500, 0), False, "no_variance"),
        (SampleStats(9, 45.0, 225.0), SampleStats(9, 90.0, 900.0), True, "no_variance"),
        (SampleStats.proportion(500, 5), SampleStats.proportion(500, 0), True, "no_variance"),
        (SampleStats.proportion(500, 5), SampleStats(500, 5.0, 9.0), True, "mixed_metric_kinds"),
    ],
)
@pytest.mark.parametrize("sequential", [False, True])
def test_degenerate_inputs_give_a_reason(
    control: SampleStats, treatment: SampleStats, relative: bool, code: str, sequential: bool
) -> None:
    result = compare(control, treatment, alpha=0.05, sequential=sequential, relative=relative)
    assert isinstance(result, Unavailable)
    assert result.code == code
    assert len(result.reason) > 20


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, math.nan, math.inf])
def test_invalid_alpha_gives_a_reason(alpha: float) -> None:
    result = compare(CONTROL, TREATMENT, alpha=alpha, sequential=False)
    assert isinstance(result, Unavailable) and result.code == "invalid_alpha"


@pytest.mark.parametrize("tuning", [0.0, -5.0, math.inf])
def test_invalid_tuning_gives_a_reason(tuning: float) -> None:
    result = compare(CONTROL, TREATMENT, alpha=0.05, sequential=True, tuning=tuning)
    assert isinstance(result, Unavailable) and result.code == "invalid_tuning"


def test_one_arm_without_variance_is_still_comparable_in_absolute_terms() -> None:
    # gbstats declines whenever either arm has zero variance; Welch's test only needs one.
    result = made(
        compare(
            SampleStats.proportion(500, 0),
            SampleStats.proportion(500, 6),
            alpha=0.05,
            sequential=False,
            relative=False,
        )
    )
    assert result.lift == pytest.approx(0.012)
    assert 0 < result.p_value < 0.05


def test_absurd_magnitudes_give_a_reason_not_an_exception() -> None:
    huge = SampleStats(10, 1e300, 1e300)
    tiny = SampleStats(10, 1e-300, 1e-300)
    for control, treatment in ((tiny, huge), (huge, tiny)):
        result = compare(control, treatment, alpha=0.05, sequential=False)
        assert isinstance(result, Comparison | Unavailable)


def test_compare_arms_adds_holm_adjusted_p_values() -> None:
    treatments = [TREATMENT, SampleStats.proportion(10_400, 215), SampleStats.proportion(0, 0)]
    results = compare_arms(CONTROL, treatments, alpha=0.05, sequential=False)
    first, second = made(results[0]), made(results[1])
    assert isinstance(results[2], Unavailable)
    low, high = sorted([first.p_value, second.p_value])
    adjusted = sorted([first.p_value_adjusted, second.p_value_adjusted])
    assert adjusted == pytest.approx([min(1.0, 2 * low), max(min(1.0, 2 * low), high)])
    # everything else is the plain comparison
    alone = made(compare(CONTROL, TREATMENT, alpha=0.05, sequential=False))
    assert dataclasses.replace(first, p_value_adjusted=alone.p_value) == alone


@st.composite
def arms(draw: st.DrawFn, kind: str) -> SampleStats:
    n = draw(st.integers(min_value=0, max_value=2_000_000))
    if kind == "proportion":
        return SampleStats.proportion(n, draw(st.integers(min_value=0, max_value=n)))
    mean = draw(st.floats(min_value=-1e4, max_value=1e6, allow_nan=False))
    sd = draw(st.floats(min_value=0.0, max_value=1e5, allow_nan=False))
    total = mean * n
    squares = (n - 1) * sd * sd + (total * total / n if n else 0.0)
    return SampleStats(n=n, sum=total, sum_squares=max(0.0, squares))


@st.composite
def pairs(draw: st.DrawFn) -> tuple[SampleStats, SampleStats]:
    kind = draw(st.sampled_from(["proportion", "mean"]))
    return draw(arms(kind)), draw(arms(kind))


@settings(max_examples=300, deadline=None)
@given(
    pairs(),
    st.sampled_from([0.01, 0.05, 0.1, 0.2]),
    st.booleans(),
    st.booleans(),
)
def test_never_raises_and_never_returns_nan(
    arms_pair: tuple[SampleStats, SampleStats], alpha: float, sequential: bool, relative: bool
) -> None:
    control, treatment = arms_pair
    result = compare(control, treatment, alpha=alpha, sequential=sequential, relative=relative)
    if isinstance(result, Unavailable):
        assert result.reason
        return
    numbers = [*dataclasses.astuple(result)[2:], *result.ci, *result.absolute_ci]
    assert all(math.isfinite(x) for x in numbers if isinstance(x, float))
    assert 0.0 <= result.p_value <= 1.0
    assert 0.0 <= result.chance_to_beat_control <= 1.0
    assert result.risk >= 0.0 and result.risk_control >= 0.0
    assert result.ci[0] <= result.lift <= result.ci[1]
    # the interval excludes 0 exactly when the p-value is below alpha, in both modes
    if abs(result.p_value - alpha) > 1e-9 * alpha:
        assert (result.p_value < alpha) == (result.ci[0] > 0.0 or result.ci[1] < 0.0)
