"""CUPED agrees with gbstats 0.8.0's regression-adjusted t-test (stats_golden.json,
"regression_adjusted"): the same lift, interval and p-value to 1e-6, fixed and sequential,
relative and absolute, from the per-arm sums a report aggregates."""

from __future__ import annotations

from typing import Any

import pytest

from service.stats.compare import Comparison, compare
from service.stats.cuped import Covariate, theta
from service.stats.summaries import SampleStats
from tests.unit.test_stats_golden import GOLDEN, MODES, arm, close

CASES = GOLDEN["regression_adjusted"]


def covariate(data: dict[str, Any]) -> Covariate:
    c = data["covariate"]
    return Covariate(c["sum"], c["sum_squares"], c["sum_products"])


def run(case: dict[str, Any], difference: str, sequential: bool) -> Comparison:
    result = compare(
        arm(case["kind"], case["control"]),
        arm(case["kind"], case["treatment"]),
        alpha=case["alpha"],
        sequential=sequential,
        relative=difference == "relative",
        covariates=(covariate(case["control"]), covariate(case["treatment"])),
    )
    assert isinstance(result, Comparison), result
    return result


def test_the_table_covers_both_metric_kinds() -> None:
    kinds = [case["kind"] for case in CASES]
    assert kinds.count("proportion") >= 3
    assert kinds.count("mean") >= 3


@pytest.mark.parametrize("case", CASES, ids=lambda case: case["name"])
def test_theta_is_gbstats_pooled_slope(case: dict[str, Any]) -> None:
    control, treatment = case["control"], case["treatment"]
    slope = theta(
        arm(case["kind"], control),
        covariate(control),
        arm(case["kind"], treatment),
        covariate(treatment),
    )
    assert slope == close(case["expected"]["theta"])


@pytest.mark.parametrize("case", CASES, ids=lambda case: case["name"])
@pytest.mark.parametrize(("difference", "sequential"), MODES, ids=lambda v: str(v))
def test_adjusted_lift_interval_and_p_value(
    case: dict[str, Any], difference: str, sequential: bool
) -> None:
    expected = case["expected"][difference]["sequential" if sequential else "fixed"]
    absolute = case["expected"]["absolute"]["sequential" if sequential else "fixed"]
    result = run(case, difference, sequential)
    assert result.lift == close(expected["estimate"])
    assert result.ci[0] == close(expected["ci"][0])
    assert result.ci[1] == close(expected["ci"][1])
    assert result.p_value == close(expected["p_value"])
    assert result.absolute_difference == close(absolute["estimate"])
    assert result.absolute_ci[0] == close(absolute["ci"][0])
    assert result.absolute_ci[1] == close(absolute["ci"][1])


@pytest.mark.parametrize("case", CASES, ids=lambda case: case["name"])
def test_the_variance_removed_is_what_narrows_the_interval(case: dict[str, Any]) -> None:
    adjusted = run(case, "relative", False)
    plain = compare(
        arm(case["kind"], case["control"]),
        arm(case["kind"], case["treatment"]),
        alpha=case["alpha"],
        sequential=False,
    )
    assert isinstance(plain, Comparison)
    assert plain.variance_reduction is None
    assert adjusted.variance_reduction is not None
    assert adjusted.standard_error**2 == pytest.approx(
        plain.standard_error**2 * (1 - adjusted.variance_reduction), rel=1e-9
    )


def test_a_covariate_that_does_not_vary_leaves_the_plain_comparison() -> None:
    control, treatment = SampleStats.proportion(1000, 50), SampleStats.proportion(1000, 70)
    flat = Covariate(3000.0, 9000.0, 150.0), Covariate(3000.0, 9000.0, 210.0)
    adjusted = compare(control, treatment, alpha=0.05, sequential=False, covariates=flat)
    plain = compare(control, treatment, alpha=0.05, sequential=False)
    assert isinstance(adjusted, Comparison) and isinstance(plain, Comparison)
    assert adjusted.variance_reduction is None
    assert (adjusted.lift, adjusted.ci, adjusted.p_value) == (plain.lift, plain.ci, plain.p_value)
