"""Honest small samples: no lift, interval or verdict until each arm of a comparison has
MIN_DONORS_PER_ARM donors, none at all for a draft, and intervals never shown past -100 %."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import jsonschema

from service.dashboard import charts, formatting
from service.domain.arm_totals import ArmTotals, DayTotals
from service.domain.report import build_report, report_json_schema
from service.domain.report_model import DailyPoint, Report, Verdict, report_json
from service.domain.verdicts import held_back
from service.schemas.experiment import parse_experiment
from tests.support import experiment_doc

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
EXPERIMENT = parse_experiment(experiment_doc(analysis={"primary_metric": "conversion_rate"}))


def arm(variant: str, visitors: int, donors: int) -> ArmTotals:
    return ArmTotals(variant, visitors=visitors, converters=donors, conversions=donors)


def small(min_donors: int, *, ran: bool = True) -> Report:
    """Day one: 40 donors in control, 12 in the treatment."""
    rows = [arm("control", 1_000, 40), arm("five-dollars", 1_000, 12)]
    days = [DayTotals(date(2026, 11, 28), row) for row in rows]
    return build_report(
        EXPERIMENT,
        rows,
        days,
        generated_at=NOW,
        start=None,
        end=None,
        segment=None,
        min_donors=min_donors,
        ran=ran,
    )


def test_a_comparison_below_the_minimum_gets_no_verdict_but_both_numbers() -> None:
    report = small(min_donors=30)
    assert report.verdicts == (
        Verdict(
            "five-dollars",
            "not_enough_data",
            "not enough data yet: 12 of 30 donors",
            donors=12,
            donors_needed=30,
        ),
    )
    body = report_json(report)
    assert body["verdicts"] == [
        {
            "variant": "five-dollars",
            "status": "not_enough_data",
            "text": "not enough data yet: 12 of 30 donors",
            "donors": 12,
            "donors_needed": 30,
        }
    ]
    jsonschema.validate(body, report_json_schema())
    # The daily series has no lift to chart for it either.
    treatment = [p for p in report.daily if p.variant == "five-dollars"]
    assert [(p.lift, p.ci) for p in treatment] == [(None, None)]


def test_at_the_minimum_the_verdict_is_made_as_before() -> None:
    report = small(min_donors=12)
    assert report.verdicts[0].status in ("ahead", "behind", "inconclusive")
    assert "donors" not in report_json(report)["verdicts"][0]
    assert report.daily[-1].lift is not None


def test_a_draft_gets_no_verdict() -> None:
    assert small(min_donors=30, ran=False).verdicts == ()
    assert small(min_donors=0, ran=False).verdicts == ()


def test_held_back_counts_the_arm_with_fewer_donors() -> None:
    assert held_back(40, 12, 30) == "not enough data yet: 12 of 30 donors"
    assert held_back(7, 31, 30) == "not enough data yet: 7 of 30 donors"
    assert held_back(30, 30, 30) is None
    assert held_back(0, 0, 0) is None


def test_an_interval_below_minus_100_percent_says_so() -> None:
    assert formatting.interval([-1.36, 0.9]) == "below -100 % to +90.0 %"
    assert formatting.interval([-0.5, 0.2]) == "-50.0 % to +20.0 %"
    assert formatting.bound(-1.0, charts.LIFT_FLOOR) == "below -100 %"
    assert formatting.bound(-0.25, charts.LIFT_FLOOR) == "-25.00 %"
    assert formatting.bound(0.03) == "3.00 %"


def _day_one_lift(low: float) -> Report:
    point = DailyPoint(
        "2026-11-28",
        "five-dollars",
        900,
        0.02,
        (0.01, 0.03),
        1.0,
        None,
        0.4,
        (low, 1.9),
        "day",
        "2026-11-28T00:00:00Z",
    )
    base = small(min_donors=0)
    control = next(p for p in base.daily if p.variant == "control")
    return dataclasses.replace(base, daily=(control, point))


def test_the_lift_chart_never_runs_below_minus_100_percent() -> None:
    lift = charts.cumulative(_day_one_lift(-1.74), ["control", "five-dollars"])["lift"]
    assert lift["series"][0]["low"] == [-1.0]
    assert lift["axis"]["min"] == -1.0
    assert min(lift["axis"]["ticks"]) >= -1.0
    # The band and the line are on the chart: the axis spans them.
    assert lift["axis"]["max"] >= 1.9
    assert lift["axis"]["labels"][0] == "-100 %"


def test_day_one_ticks_are_distinct() -> None:
    # A day-one conversion chart: rates of 2-4 % (it showed "3 %, 3 %, 2 %, 2 %").
    shown = charts.axis([0.021, 0.0245, 0.028, 0.0312, 0.035], "percent", floor=0.0)
    assert shown is not None
    labels = shown["labels"]
    assert len(labels) >= 3 and len(set(labels)) == len(labels), labels
    assert shown["min"] <= 0.021 and shown["max"] >= 0.035
    assert all(shown["min"] <= t <= shown["max"] for t in shown["ticks"])


def test_ticks_stay_distinct_at_any_scale() -> None:
    for low, high in [(0.0, 0.0004), (0.019, 0.0205), (-0.9, 3.2), (0.1, 0.1), (0.02, 0.021)]:
        shown = charts.axis([low, high], "percent")
        assert shown is not None
        assert len(set(shown["labels"])) == len(shown["labels"]) >= 2, (low, high, shown)
        assert shown["min"] <= low and shown["max"] >= high


def test_count_ticks_are_whole_and_distinct() -> None:
    shown = charts.axis([0.0, 1.0, 2.0], "count", floor=0.0)
    assert shown is not None
    assert all(t == int(t) for t in shown["ticks"])
    assert len(set(shown["labels"])) == len(shown["labels"])
    assert shown["min"] == 0.0 and shown["max"] >= 2
    assert charts.axis([], "count") is None


def test_a_verdict_never_quotes_an_interval_below_minus_100_percent() -> None:
    rows = [arm("control", 40, 3), arm("five-dollars", 40, 1)]
    report = build_report(
        EXPERIMENT, rows, [], generated_at=NOW, start=None, end=None, segment=None
    )
    vs = report.variants[1].metrics["conversion_rate"].vs_control
    assert vs is not None and not hasattr(vs, "error")
    assert vs.ci[0] < -1  # type: ignore[union-attr]
    text = report.verdicts[0].text
    assert "CI below -100 % to +" in text, text
