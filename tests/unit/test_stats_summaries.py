"""SampleStats: means and variances as gbstats' Proportion/SampleMean statistics define them."""

from __future__ import annotations

import statistics

import pytest

from service.stats.summaries import SampleStats


def test_mean_metric_uses_the_sample_variance() -> None:
    values = [0.0, 0.0, 5.0, 10.0, 0.0, 25.0]
    stats = SampleStats.of_values(values)
    assert (stats.n, stats.sum, stats.sum_squares) == (6, 40.0, 750.0)
    assert stats.kind == "mean"
    assert stats.mean == pytest.approx(statistics.fmean(values))
    assert stats.variance == pytest.approx(statistics.variance(values))


def test_proportion_uses_the_binomial_variance() -> None:
    stats = SampleStats.proportion(200, 10)
    assert stats.sum_squares == stats.sum == 10
    assert stats.mean == 0.05
    assert stats.variance == pytest.approx(0.05 * 0.95)  # p(1 - p), not n/(n - 1)·p(1 - p)


def test_empty_and_single_arms_have_zero_mean_and_variance() -> None:
    assert SampleStats(0, 0.0, 0.0).mean == 0.0
    assert SampleStats(0, 0.0, 0.0).variance == 0.0
    assert SampleStats(1, 7.0, 49.0).variance == 0.0
    assert SampleStats.proportion(0, 0).variance == 0.0


def test_rounding_never_makes_a_variance_negative() -> None:
    stats = SampleStats.of_values([0.1] * 3)  # Σx² - (Σx)²/n rounds slightly below 0
    assert stats.variance == 0.0


@pytest.mark.parametrize(
    "build",
    [
        lambda: SampleStats(-1, 0.0, 0.0),
        lambda: SampleStats(True, 1.0, 1.0),
        lambda: SampleStats(10, float("nan"), 1.0),
        lambda: SampleStats(10, 1.0, float("inf")),
        lambda: SampleStats(10, 1.0, -1.0),
        lambda: SampleStats.proportion(10, 11),
        lambda: SampleStats.proportion(10, -1),
        lambda: SampleStats(10, 3.0, 4.0, kind="proportion"),
    ],
)
def test_impossible_aggregates_are_a_callers_bug(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]
