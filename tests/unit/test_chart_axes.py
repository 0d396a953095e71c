"""The results charts' axes (dashboard/charts.py): y ticks at round steps whose labels never
repeat, x ticks in hours on day one and in dates later, and the report's series turning from
hours to days 48 hours after the first exposure."""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime

from service.dashboard import charts
from service.domain.arm_totals import ArmTotals, DayTotals, hourly_until
from service.domain.bandit_report import bandit_view
from service.domain.report import build_report
from service.schemas.experiment import parse_experiment
from tests.support import experiment_doc
from tests.unit.test_bandit_stratified import HISTORY, START, SWITCH, bandit, simulate

EXPERIMENT = parse_experiment(experiment_doc())
NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


def _ranges(seed: int, count: int) -> list[tuple[float, float]]:
    """Value ranges of every scale: tiny and huge, narrow and wide, negative and not."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        scale = 10 ** rng.uniform(-6, 3)
        low = rng.uniform(-2, 2) * scale
        out.append((low, low + rng.choice([0.0, 1e-9, rng.uniform(0, 1) * scale])))
    return out


def test_percent_ticks_are_distinct_round_and_span_the_values_at_any_range() -> None:
    for low, high in _ranges(seed=17, count=2000):
        for floor in (None, -1.0):
            shown = charts.axis([low, high], "percent", floor=floor)
            assert shown is not None
            labels, ticks = shown["labels"], shown["ticks"]
            assert 2 <= len(ticks) <= 12, (low, high, shown)
            assert len(set(labels)) == len(labels), (low, high, labels)
            assert shown["min"] <= max(low, floor or low) and shown["max"] >= high, (low, high)
            assert all(shown["min"] <= t <= shown["max"] for t in ticks)
            if floor is not None:
                assert shown["min"] >= floor and ticks[0] >= floor
            # Labels read the ticks: "2.5 %" for 0.025, never a rounded neighbour.
            for tick, label in zip(ticks, labels, strict=True):
                assert abs(float(label.removesuffix(" %")) - tick * 100) < 1e-6 * max(1, abs(tick))


def test_count_ticks_are_whole_and_distinct_at_any_range() -> None:
    rng = random.Random(5)
    for _ in range(1000):
        high = rng.choice([0, 1, 2, 3, 7, 10, 99, 1234, 10**6]) * rng.random()
        shown = charts.axis([0.0, high], "count", floor=0.0)
        assert shown is not None
        assert all(t == int(t) for t in shown["ticks"])
        assert len(set(shown["labels"])) == len(shown["labels"]) >= 2, (high, shown)
        assert shown["min"] == 0.0 and shown["max"] >= high


def _label_instants(ticks: list[int], labels: list[str]) -> list[str]:
    """Each hourly label with the date it falls under (the last date said)."""
    said = ""
    out = []
    for label in labels:
        hour, _, day = label.partition("\n")
        said = day or said
        out.append(f"{said} {hour}")
    return out


def test_time_ticks_are_hours_on_day_one_and_dates_later() -> None:
    rng = random.Random(11)
    start = int(datetime(2026, 11, 28, 6, tzinfo=UTC).timestamp())
    for _ in range(500):
        span = int(10 ** rng.uniform(3, 7.5))  # 17 minutes to a year
        low = start + rng.randrange(-86400, 86400)
        for most in charts.X_TICKS.values():
            got = charts.time_ticks(low, low + span, most)
            ticks, labels = got["ticks"], got["labels"]
            assert 1 <= len(ticks) <= most or span < 3600, (span, most, got)
            assert all(low <= t <= low + span for t in ticks)
            if len(ticks) < 2:  # a single tick: either form
                assert not ticks or re.fullmatch(r"(\d\d:00\n)?\d{1,2} [A-Z][a-z]{2}", labels[0])
            elif ticks[1] - ticks[0] < 86400:
                assert all(
                    re.fullmatch(r"\d\d:00(\n\d{1,2} [A-Z][a-z]{2}( \d{4})?)?", x) for x in labels
                )
                assert "\n" in labels[0], "the first hour says its date"
                assert len(set(_label_instants(ticks, labels))) == len(labels)
            else:
                assert all(re.fullmatch(r"\d{1,2} [A-Z][a-z]{2}( \d{4})?", x) for x in labels)
                assert len(set(labels)) == len(labels), labels


def test_day_one_axis_is_hourly_with_the_date_at_midnight() -> None:
    start = int(datetime(2026, 11, 28, 21, tzinfo=UTC).timestamp())
    x = [start + h * 3600 for h in range(6)]  # 21:00 to 02:00 the next day
    shown = charts.time_axis(x, ["hour"] * 6)
    assert shown["min"] == x[0] - 1800 and shown["max"] == x[-1] + 1800
    assert shown["wide"]["labels"] == [
        "21:00\n28 Nov",
        "22:00",
        "23:00",
        "00:00\n29 Nov",
        "01:00",
        "02:00",
    ]
    # A single hour: half an hour either side, and its tick.
    one = charts.time_axis([start], ["hour"])
    assert one["narrow"] == {"ticks": [start], "labels": ["21:00\n28 Nov"]}


def test_the_series_is_hourly_for_48_hours_then_daily() -> None:
    assert hourly_until(datetime(2026, 11, 28, 0, 0, tzinfo=UTC)) == datetime(
        2026, 11, 30, tzinfo=UTC
    )
    # 06:37: hours from 06:00 for 48 hours, then to the next midnight, then days.
    assert hourly_until(datetime(2026, 11, 28, 6, 37, tzinfo=UTC)) == datetime(
        2026, 12, 1, tzinfo=UTC
    )
    assert hourly_until(datetime(2026, 11, 28, 23, 59, tzinfo=UTC)) == datetime(
        2026, 12, 1, tzinfo=UTC
    )


def _rows(day: date, hour: int | None, control: int, treatment: int) -> list[DayTotals]:
    return [
        DayTotals(day, ArmTotals("control", visitors=control, converters=control // 10), hour),
        DayTotals(day, ArmTotals("five-dollars", visitors=treatment), hour),
    ]


def test_report_points_carry_their_period() -> None:
    rows = [
        *_rows(date(2026, 11, 28), 6, 10, 12),
        *_rows(date(2026, 11, 28), 7, 20, 18),
        *_rows(date(2026, 12, 1), None, 100, 90),
    ]
    report = build_report(
        EXPERIMENT, [], rows, generated_at=NOW, start=None, end=None, segment=None
    )
    control = [p for p in report.daily if p.variant == "control"]
    assert [(p.period, p.at, p.date, p.visitors) for p in control] == [
        ("hour", "2026-11-28T06:00:00Z", "2026-11-28", 10),
        ("hour", "2026-11-28T07:00:00Z", "2026-11-28", 30),
        ("day", "2026-12-01T00:00:00Z", "2026-12-01", 130),
    ]
    lift = charts.cumulative(report, ["control", "five-dollars"])["conversion"]
    assert lift["periods"] == ["hour", "hour", "day"]
    assert lift["x"][1] - lift["x"][0] == 3600


def test_a_stratified_bandit_series_stays_daily() -> None:
    # Its strata are cut at UTC midnight: hours within a day have no stratified figures.
    rows, strata = simulate(random.Random(5), {"control": (0.04, 0.02), "treatment": (0.04, 0.02)})
    experiment = bandit()
    view = bandit_view(experiment, HISTORY, [SWITCH], strata)
    hourly = [
        DayTotals((START if s.stratum < 0 else SWITCH).date(), s.totals, 6 if s.stratum < 0 else 9)
        for s in strata
    ]
    report = build_report(
        experiment, rows, hourly, generated_at=NOW, start=None, end=None, segment=None, bandit=view
    )
    assert {p.period for p in report.daily} == {"day"}
    assert [p.at for p in report.daily][::2] == ["2026-11-23T00:00:00Z", "2026-11-26T00:00:00Z"]
    treatment = report.variants[1].metrics["conversion_rate"].vs_control
    assert report.daily[-1].lift == treatment.relative_lift  # type: ignore[union-attr]
