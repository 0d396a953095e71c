"""build_report: shape, sums across segments, degenerate inputs and verdict wording."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import UTC, date, datetime
from typing import Any

import pytest

from service.domain import report_variants as report_module
from service.domain import verdicts as verdicts_module
from service.domain.arm_totals import ArmTotals, DayTotals
from service.domain.experiment import Experiment
from service.domain.report import build_report as build_typed_report
from service.domain.report_metrics import METRIC_NAMES
from service.domain.report_metrics import metric as report_metric
from service.domain.report_model import report_json
from service.schemas.experiment import parse_experiment
from service.stats.compare import Comparison, compare
from service.stats.summaries import SampleStats
from tests.support import banner, experiment_doc

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
FREQUENTIST_FIELDS = {
    "relative_lift",
    "ci",
    "p_value",
    "p_value_adjusted",
    "absolute_difference",
    "absolute_ci",
}
BAYESIAN_FIELDS = {"relative_lift", "ci", "chance_to_beat_control", "risk"}


def build_report(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """The report as the API serves it: these tests read its JSON."""
    return report_json(build_typed_report(*args, **kwargs))


def experiment(**analysis: Any) -> Experiment:
    return parse_experiment(experiment_doc(analysis=analysis) if analysis else experiment_doc())


def arm(
    variant: str, n: int, converters: int, revenue: float, squares: float, **kw: Any
) -> ArmTotals:
    return ArmTotals(
        variant,
        visitors=n,
        converters=converters,
        revenue=revenue,
        revenue_capped=revenue,
        revenue_capped_squares=squares,
        annualised=revenue * 12,
        annualised_capped=revenue * 12,
        annualised_capped_squares=squares * 144,
        conversions=converters,
        **kw,
    )


def report(
    exp: Experiment,
    rows: list[ArmTotals],
    daily: list[DayTotals] | None = None,
    segment: Any = None,
) -> dict[str, Any]:
    out = build_report(
        exp, rows, daily or [], generated_at=NOW, start=None, end=None, segment=segment
    )
    # Never NaN or inf: strict JSON must accept it.
    json.dumps(out, allow_nan=False)
    return out


def test_shape_and_figures_match_compare() -> None:
    control = arm(
        "control",
        10_412,
        212,
        3180.0,
        3180.0 * 40,
        impressions=23_817,
        views=19_022,
        clicks=611,
        dismiss_remind_later=940,
        dismiss_close=77,
        dismiss_already_donated=12,
        recurring_conversions=106,
        remind_later_visitors=900,
        converted_after_remind_later=9,
    )
    treatment = arm("five-dollars", 10_380, 261, 4100.0, 4100.0 * 45, impressions=24_000)
    out = report(experiment(), [control, treatment])
    assert out["experiment"] == "monthly-ask"
    assert out["generated_at"] == "2026-11-28T12:00:00Z"
    assert out["analysis"] == {
        "engine": "frequentist",
        "sequential": False,
        "cuped": False,
        "alpha": 0.05,
    }
    assert out["currency"] == "USD"
    assert out["from"] is None and out["segment"] is None and "segments" not in out
    assert out["srm"]["mismatch"] is False and 0 < out["srm"]["p_value"] <= 1
    c, t = out["variants"]
    assert c["key"] == "control" and c["weight"] == 50 and c["visitors"] == 10_412
    assert c["dismissals"] == {"remind_later": 940, "close": 77, "already_donated": 12}
    assert c["conversions"] == 212 and c["revenue"] == 3180.0
    assert c["average_gift"] == pytest.approx(3180 / 212)
    assert c["recurring_share"] == pytest.approx(0.5)
    assert c["revenue_per_1000_impressions"] == pytest.approx(3180_000 / 23_817)
    assert c["click_through_rate"] == pytest.approx(611 / 23_817)
    assert c["dismiss_rate"] == pytest.approx(1029 / 23_817)
    assert c["remind_later_to_donated"] == pytest.approx(0.01)
    assert c["metrics"]["conversion_rate"] == {
        "value": pytest.approx(212 / 10_412),
        "vs_control": None,
    }
    expected = compare(
        SampleStats.proportion(10_412, 212),
        SampleStats.proportion(10_380, 261),
        alpha=0.05,
        sequential=False,
    )
    assert isinstance(expected, Comparison)
    vs = t["metrics"]["conversion_rate"]["vs_control"]
    assert vs["relative_lift"] == expected.lift and vs["ci"] == list(expected.ci)
    assert vs["p_value"] == vs["p_value_adjusted"] == expected.p_value
    assert vs["absolute_difference"] == expected.absolute_difference
    # The frequentist engine's figures only: no chance to beat control beside a p-value.
    assert set(vs) == FREQUENTIST_FIELDS
    # Every metric of the registry, the three of DESIGN §5 among them.
    assert set(t["metrics"]) == set(METRIC_NAMES)
    assert set(t["metrics"]) >= {
        "conversion_rate",
        "revenue_per_visitor",
        "annualised_value_per_visitor",
    }
    assert [v["variant"] for v in out["verdicts"]] == ["five-dollars"]


def test_no_visitors_gives_nulls_and_reasons() -> None:
    out = report(experiment(), [])
    assert out["srm"] == {"p_value": None, "mismatch": False, "reason": "no exposed visitors yet"}
    for variant in out["variants"]:
        assert variant["visitors"] == 0
        assert variant["average_gift"] is None and variant["click_through_rate"] is None
        assert variant["metrics"]["revenue_per_visitor"]["value"] is None
    vs = out["variants"][1]["metrics"]["conversion_rate"]["vs_control"]
    assert "no visitors" in vs["error"]
    verdict = out["verdicts"][0]
    assert verdict["status"] == "inconclusive"
    assert verdict["text"].startswith("keep running: not enough data yet")


def test_zero_control_mean_is_a_reason() -> None:
    out = report(experiment(), [arm("control", 100, 0, 0, 0), arm("five-dollars", 100, 3, 30, 300)])
    vs = out["variants"][1]["metrics"]["revenue_per_visitor"]["vs_control"]
    assert "control mean is 0" in vs["error"]


def test_verdict_ahead_behind_inconclusive_wording() -> None:
    exp = experiment(primary_metric="conversion_rate")
    ahead = report(exp, [arm("control", 20_000, 400, 0, 0), arm("five-dollars", 20_000, 520, 0, 0)])
    verdict = ahead["verdicts"][0]
    assert verdict["status"] == "ahead"
    assert verdict["text"].startswith("ahead: +30 % conversion rate, 95 % CI +")
    behind = report(
        exp, [arm("control", 20_000, 520, 0, 0), arm("five-dollars", 20_000, 400, 0, 0)]
    )
    assert behind["verdicts"][0]["status"] == "behind"
    assert behind["verdicts"][0]["text"].startswith("behind: -23 % conversion rate, 95 % CI -")
    unclear = report(exp, [arm("control", 2_000, 40, 0, 0), arm("five-dollars", 2_000, 42, 0, 0)])
    assert unclear["verdicts"][0]["status"] == "inconclusive"
    assert "+5.0 % conversion rate" in unclear["verdicts"][0]["text"]


def test_sequential_analysis_is_labelled_and_wider() -> None:
    rows = [arm("control", 20_000, 400, 0, 0), arm("five-dollars", 20_000, 520, 0, 0)]
    fixed = report(experiment(primary_metric="conversion_rate"), rows)
    seq = report(experiment(primary_metric="conversion_rate", sequential=True), rows)
    assert seq["analysis"] == {
        "engine": "frequentist",
        "sequential": True,
        "cuped": False,
        "alpha": 0.05,
    }
    assert "always-valid CI" in seq["verdicts"][0]["text"]
    f_ci = fixed["variants"][1]["metrics"]["conversion_rate"]["vs_control"]["ci"]
    s_ci = seq["variants"][1]["metrics"]["conversion_rate"]["vs_control"]["ci"]
    assert s_ci[0] < f_ci[0] and s_ci[1] > f_ci[1]


def test_srm_overrides_verdicts() -> None:
    out = report(
        experiment(),
        [arm("control", 10_000, 200, 2000, 80_000), arm("five-dollars", 8_000, 300, 3000, 120_000)],
    )
    assert out["srm"]["mismatch"] is True
    assert out["verdicts"][0] == {
        "variant": "five-dollars",
        "status": "srm",
        "text": "sample ratio mismatch: do not trust these numbers",
    }


def test_holm_adjustment_across_three_arms() -> None:
    doc = experiment_doc(
        variants=[
            {"key": "control", "weight": 1, "banner": banner()},
            {"key": "b", "weight": 1, "banner": banner()},
            {"key": "c", "weight": 1, "banner": banner()},
        ]
    )
    rows = [arm("control", 5000, 100, 0, 0), arm("b", 5000, 130, 0, 0), arm("c", 5000, 105, 0, 0)]
    out = report(parse_experiment(doc), rows)
    for variant in out["variants"][1:]:
        vs = variant["metrics"]["conversion_rate"]["vs_control"]
        assert vs["p_value_adjusted"] >= vs["p_value"]
    b = out["variants"][1]["metrics"]["conversion_rate"]["vs_control"]
    assert b["p_value_adjusted"] == pytest.approx(min(1.0, 2 * b["p_value"]))


def test_segments_add_up_to_overall() -> None:
    rows = [
        ArmTotals(
            "control",
            "US",
            visitors=60,
            converters=3,
            revenue_capped=30,
            revenue_capped_squares=300,
        ),
        ArmTotals(
            "control", "GB", visitors=40, converters=1, revenue_capped=5, revenue_capped_squares=25
        ),
        ArmTotals(
            "five-dollars",
            "US",
            visitors=55,
            converters=4,
            revenue_capped=60,
            revenue_capped_squares=900,
        ),
        ArmTotals("five-dollars", None, visitors=5, converters=0),
    ]
    out = report(experiment(), rows, segment="country")
    assert out["segment"] == "country"
    assert [v["visitors"] for v in out["variants"]] == [100, 60]
    assert [s["value"] for s in out["segments"]] == ["GB", "US", None]
    gb = out["segments"][0]["variants"]
    assert [v["visitors"] for v in gb] == [40, 0]
    assert gb[1]["metrics"]["conversion_rate"]["value"] is None
    assert "error" in gb[1]["metrics"]["conversion_rate"]["vs_control"]


def test_daily_series_is_cumulative() -> None:
    day1, day2 = date(2026, 11, 26), date(2026, 11, 27)
    daily = [
        DayTotals(
            day1,
            ArmTotals(
                "control", visitors=100, converters=2, revenue_capped=20, revenue_capped_squares=200
            ),
        ),
        DayTotals(
            day1,
            ArmTotals(
                "five-dollars",
                visitors=90,
                converters=3,
                revenue_capped=30,
                revenue_capped_squares=300,
            ),
        ),
        DayTotals(
            day2,
            ArmTotals(
                "control", visitors=50, converters=1, revenue_capped=10, revenue_capped_squares=100
            ),
        ),
    ]
    out = report(experiment(), [], daily)
    points = {(p["date"], p["variant"]): p for p in out["daily"]}
    assert len(out["daily"]) == 4
    assert points[("2026-11-27", "control")]["visitors"] == 150
    assert points[("2026-11-27", "control")]["conversion_rate"] == pytest.approx(3 / 150)
    assert points[("2026-11-27", "five-dollars")]["visitors"] == 90  # carried forward
    assert points[("2026-11-26", "control")]["lift"] is None
    later = points[("2026-11-27", "five-dollars")]
    assert later["revenue_per_visitor"] == pytest.approx(30 / 90)
    assert later["lift"] == pytest.approx((30 / 90) / (30 / 150) - 1)
    assert len(later["ci"]) == 2 and all(math.isfinite(x) for x in later["ci"])


def test_mean_interval_for_a_rate_and_a_mean() -> None:
    from service.stats.intervals import mean_interval
    from service.stats.summaries import SampleStats

    low, high = mean_interval(SampleStats.proportion(10_000, 200), 0.05)  # type: ignore[misc]
    assert low == pytest.approx(0.02 - 1.959964 * (0.02 * 0.98 / 10_000) ** 0.5, rel=1e-6)
    assert high == pytest.approx(0.02 + 1.959964 * (0.02 * 0.98 / 10_000) ** 0.5, rel=1e-6)
    assert mean_interval(SampleStats.proportion(1, 1), 0.05) is None


def test_bayesian_engine_reports_only_bayesian_figures() -> None:
    rows = [arm("control", 10_412, 212, 0, 0), arm("five-dollars", 10_380, 261, 0, 0)]
    out = report(experiment(primary_metric="conversion_rate", engine="bayesian"), rows)
    assert out["analysis"] == {
        "engine": "bayesian",
        "sequential": False,
        "cuped": False,
        "alpha": 0.05,
    }
    expected = compare(
        SampleStats.proportion(10_412, 212),
        SampleStats.proportion(10_380, 261),
        alpha=0.05,
        sequential=False,
    )
    assert isinstance(expected, Comparison)
    vs = out["variants"][1]["metrics"]["conversion_rate"]["vs_control"]
    assert set(vs) == BAYESIAN_FIELDS
    assert vs["relative_lift"] == expected.lift
    # The credible interval (normal), not the confidence interval (Student t).
    assert vs["ci"] == list(expected.credible_interval) and vs["ci"] != list(expected.ci)
    assert vs["chance_to_beat_control"] == expected.chance_to_beat_control
    assert vs["risk"] == expected.risk
    for metric in METRIC_NAMES:
        figures = out["variants"][1]["metrics"][metric]["vs_control"]
        assert "error" in figures or set(figures) == BAYESIAN_FIELDS


def test_bayesian_daily_lift_carries_the_credible_interval() -> None:
    exp = experiment(primary_metric="conversion_rate", engine="bayesian")
    day = date(2026, 11, 20)
    rows = [arm("control", 10_412, 212, 0, 0), arm("five-dollars", 10_380, 261, 0, 0)]
    out = report(exp, rows, [DayTotals(day, row) for row in rows])
    point = out["daily"][1]
    vs = out["variants"][1]["metrics"]["conversion_rate"]["vs_control"]
    assert point["variant"] == "five-dollars"
    assert point["lift"] == vs["relative_lift"] and point["ci"] == vs["ci"]


def test_bayesian_verdicts_read_the_chance_to_beat_control() -> None:
    exp = experiment(primary_metric="conversion_rate", engine="bayesian")
    ahead = report(exp, [arm("control", 20_000, 400, 0, 0), arm("five-dollars", 20_000, 520, 0, 0)])
    verdict = ahead["verdicts"][0]
    assert verdict["status"] == "ahead"
    assert verdict["text"].startswith(
        "ahead: > 99.9 % chance to beat control, +30 % conversion rate, 95 % credible interval +"
    )
    assert "p =" not in verdict["text"] and " CI " not in verdict["text"]
    behind = report(
        exp, [arm("control", 20_000, 520, 0, 0), arm("five-dollars", 20_000, 400, 0, 0)]
    )
    assert behind["verdicts"][0]["status"] == "behind"
    assert behind["verdicts"][0]["text"].startswith("behind: < 0.1 % chance to beat control")
    unclear = report(exp, [arm("control", 2_000, 40, 0, 0), arm("five-dollars", 2_000, 42, 0, 0)])
    assert unclear["verdicts"][0]["status"] == "inconclusive"
    assert unclear["verdicts"][0]["text"] == (
        "inconclusive: 58.6 % chance to beat control, +5.0 % conversion rate, "
        "95 % credible interval -40 % to +50 %; neither likely better nor worse, keep running"
    )


def test_bayesian_beat_means_better_for_a_metric_where_lower_is_good(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Chance to beat control and risk read "better", as gbstats' `inverse` does: for a metric
    where lower is good, a higher treatment mean is a low chance to beat control."""
    lower_is_good = dataclasses.replace(report_metric("conversion_rate"), higher_is_better=False)
    for module in (report_module, verdicts_module):
        monkeypatch.setattr(module, "report_metric", lambda name: lower_is_good)
    exp = experiment(primary_metric="conversion_rate", engine="bayesian")
    rows = [arm("control", 20_000, 400, 0, 0), arm("five-dollars", 20_000, 480, 0, 0)]
    out = report(exp, rows)
    expected = compare(
        SampleStats.proportion(20_000, 400),
        SampleStats.proportion(20_000, 480),
        alpha=0.05,
        sequential=False,
    )
    assert isinstance(expected, Comparison)
    vs = out["variants"][1]["metrics"]["conversion_rate"]["vs_control"]
    assert vs["chance_to_beat_control"] == pytest.approx(1 - expected.chance_to_beat_control)
    assert vs["chance_to_beat_control"] < 0.05
    assert vs["risk"] == expected.risk_control  # shipping it loses the (higher) rate's excess
    assert out["verdicts"][0]["status"] == "behind"
