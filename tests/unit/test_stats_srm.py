"""Sample-ratio mismatch check (gbstats check_srm agreement is in test_stats_golden.py)."""

from __future__ import annotations

import math

import pytest

from service.stats.srm import srm_p_value


def test_52_48_split_of_50000_visitors_is_a_mismatch() -> None:
    result = srm_p_value([26_000, 24_000], [50, 50])
    assert result.mismatch
    assert result.p_value is not None and result.p_value < 1e-15
    assert result.reason is None


def test_an_even_split_is_not() -> None:
    result = srm_p_value([5_040, 4_960], [50, 50])
    assert not result.mismatch
    assert result.p_value == pytest.approx(math.erfc(math.sqrt(0.64 / 2)))  # χ² = 0.64, 1 df


def test_no_warning_until_every_arm_has_eight_visitors() -> None:
    small = srm_p_value([2, 40], [1, 1])
    assert small.p_value is not None and small.p_value < 0.001
    assert not small.mismatch
    assert srm_p_value([8, 80], [1, 1]).mismatch


def test_three_arms_use_two_degrees_of_freedom() -> None:
    # χ² = (100² + 100² + 0) / 1000 = 20 with 2 df: p = exp(-10)
    result = srm_p_value([1100, 900, 1000], [1, 1, 1])
    assert result.p_value == pytest.approx(math.exp(-10), rel=1e-12)
    assert result.mismatch


def test_unequal_weights() -> None:
    assert srm_p_value([1000, 2000], [1, 2]).p_value == pytest.approx(1.0)


def test_arms_of_weight_zero_are_left_out() -> None:
    assert srm_p_value([500, 37, 500], [1, 0, 1]) == srm_p_value([500, 500], [1, 1])


@pytest.mark.parametrize(
    ("observed", "weights", "reason"),
    [
        ([0, 0], [1, 1], "no exposed visitors yet"),
        ([10, 10], [1], "observed counts and weights differ in length"),
        ([10], [1], "a sample-ratio check needs at least two arms with positive weight"),
        ([10, 10], [1, 0], "a sample-ratio check needs at least two arms with positive weight"),
        ([10, 10], [1, -1], "weights must be finite and non-negative"),
        ([10, 10], [1, math.nan], "weights must be finite and non-negative"),
        ([10, -1], [1, 1], "visitor counts cannot be negative"),
    ],
)
def test_what_cannot_be_computed_says_why(
    observed: list[int], weights: list[float], reason: str
) -> None:
    result = srm_p_value(observed, weights)
    assert (result.p_value, result.mismatch, result.reason) == (None, False, reason)
