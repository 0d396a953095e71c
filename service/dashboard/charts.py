"""Chart series for the results page, shaped for uPlot: one shared x axis (unix seconds at the
start of each period: an hour in the experiment's first 48 hours, then a UTC day) and aligned
y arrays, with None where a variant has no figure then, and each chart's axes (`axis` for y,
`xaxis` for x): ranges, ticks and labels chosen here so that they can be tested.

A relative lift cannot mean losing more than everything, so the lift chart never draws below
-100 % (LIFT_FLOOR): an interval reaching past it is drawn to it, and its figure reads
"below -100 %" (formatting.bound)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time
from typing import Any, Literal

from service.domain.report_model import DailyPoint, Report
from service.store.sql.rollup_days import RollupDay

Period = Literal["hour", "day"]
HOUR = 3600
DAY = 24 * HOUR
# Tick steps for a time axis, the finest first: whole hours that divide a day, then days.
_TIME_STEPS = (HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY)
# At most this many x ticks on a wide chart and on a phone-sized one (charts.js picks).
X_TICKS = {"wide": 8, "narrow": 4}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _x(days: Sequence[date]) -> list[int]:
    return [int(datetime.combine(day, time(), UTC).timestamp()) for day in days]


def _unix(at: str) -> int:
    return int(datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp())


LIFT_FLOOR = -1.0
# About this many intervals between ticks: enough to read a value off, few enough to stay apart.
_TICKS = 5


def _series(
    label: str,
    at: Sequence[DailyPoint | None],
    value: str,
    band: str,
    floor: float | None = None,
) -> dict[str, Any]:
    """One variant's `value` per period with its interval `band`, none below `floor`."""

    def bound(point: DailyPoint | None, index: int) -> float | None:
        bounds = getattr(point, band) if point is not None else None
        if bounds is None:
            return None
        return float(bounds[index]) if floor is None else max(floor, float(bounds[index]))

    def figure(point: DailyPoint | None) -> float | None:
        got = getattr(point, value) if point is not None else None
        return got if got is None or floor is None else max(floor, got)

    return {
        "label": label,
        "values": [figure(p) for p in at],
        "low": [bound(p, 0) for p in at],
        "high": [bound(p, 1) for p in at],
    }


def cumulative(report: Report, variants: Sequence[str]) -> dict[str, Any]:
    """Cumulative conversion rate per variant with its interval band, and each treatment's
    relative lift over control with its interval, from the report's series (hourly, then
    daily: each point is drawn at the start of its period)."""
    points = {(p.at, p.variant): p for p in report.daily}
    periods: dict[str, Period] = {p.at: p.period for p in report.daily}
    instants = sorted(periods, key=_unix)
    conversion = []
    lift = []
    for index, key in enumerate(variants):
        at = [points.get((instant, key)) for instant in instants]
        # A rate is never below zero, whatever a normal interval on a few donors says.
        conversion.append(_series(key, at, "conversion_rate", "conversion_rate_ci", 0.0))
        if index:
            lift.append(_series(f"{key} vs {variants[0]}", at, "lift", "ci", LIFT_FLOOR))
    if not any(v is not None for s in lift for v in s["values"]):
        lift = []  # no comparison has its donors yet (domain/verdicts.py): nothing to chart
    x = [_unix(instant) for instant in instants]
    kinds = [periods[instant] for instant in instants]
    shared = {"x": x, "periods": kinds, "xaxis": time_axis(x, kinds)}
    return {
        "conversion": {
            **shared,
            "series": conversion,
            "format": "percent",
            "axis": axis(_figures(conversion), "percent", floor=0.0),
        },
        "lift": {
            **shared,
            "series": lift,
            "format": "percent",
            "metric": report.primary_metric,
            "floor": LIFT_FLOOR,
            # No change (0) stays in view: it is what the band is read against.
            "axis": axis([0.0, *_figures(lift)], "percent", floor=LIFT_FLOOR),
        },
    }


def time_axis(x: Sequence[int], periods: Sequence[Period]) -> dict[str, Any]:
    """The x axis of a series at `x` (unix seconds, ascending): half a period of room either
    side, so a single point sits mid-chart rather than on an edge, and for a wide and a narrow
    chart ticks at a round step with their labels: hours as "06:00", with the date under the
    first and wherever the day changes, when the step is under a day; dates ("28 Nov") once
    it is a day or more."""
    if not x:
        return {"min": 0, "max": 0, "wide": _no_ticks(), "narrow": _no_ticks()}
    first = HOUR if periods[0] == "hour" else DAY
    last = HOUR if periods[-1] == "hour" else DAY
    low, high = x[0] - first // 2, x[-1] + last // 2
    finest = HOUR if "hour" in periods else DAY
    return {
        "min": low,
        "max": high,
        **{name: time_ticks(low, high, most, finest) for name, most in X_TICKS.items()},
    }


def _no_ticks() -> dict[str, list[Any]]:
    return {"ticks": [], "labels": []}


def time_ticks(low: int, high: int, most: int, finest: int = HOUR) -> dict[str, list[Any]]:
    """Ticks in [low, high] at the finest round step (no finer than `finest`) that gives at
    most `most` of them, on whole UTC hours or midnights, and their labels."""
    steps = [s for s in _TIME_STEPS if s >= finest]
    step = next(
        (s for s in steps if len(range(-(-low // s) * s, high + 1, s)) <= most),
        # Longer than the steps go: as many 28-day steps as it takes.
        28 * DAY * max(1, math.ceil((high - low) / (28 * DAY * most))),
    )
    ticks = list(range(-(-low // step) * step, high + 1, step))
    labels = []
    previous: date | None = None
    years = {datetime.fromtimestamp(t, UTC).year for t in ticks}
    for tick in ticks:
        moment = datetime.fromtimestamp(tick, UTC)
        day = f"{moment.day} {_MONTHS[moment.month - 1]}"
        if len(years) > 1 and (previous is None or previous.year != moment.year):
            day += f" {moment.year}"
        if step < DAY:
            labels.append(
                moment.strftime("%H:%M") + ("" if previous == moment.date() else "\n" + day)
            )
        else:
            labels.append(day)
        previous = moment.date()
    return {"ticks": ticks, "labels": labels}


def _figures(series: Iterable[dict[str, Any]]) -> list[float]:
    """Every value and interval bound of the series: what the axis must show."""
    return [
        v
        for s in series
        for name in ("values", "low", "high")
        for v in s.get(name, ())
        if v is not None
    ]


def axis(
    values: Iterable[float],
    kind: Literal["percent", "count"],
    *,
    floor: float | None = None,
) -> dict[str, Any] | None:
    """A y axis that shows every value (data and interval bounds) and never goes below
    `floor`: its range, its ticks at a round step, and their labels, at the precision the
    step needs, so no two labels read the same ("3 %, 3 %, 2 %" was a day-one chart).
    None when there is nothing to show."""
    shown = [v if floor is None else max(floor, v) for v in values]
    if not shown:
        return None
    low, high = min(shown), max(shown)
    # One value, or values too close to tell apart at any sensible precision: a small span
    # around them, so they sit mid-chart on ticks that read differently.
    if high - low < max(1e-6, 1e-4 * max(abs(low), abs(high))):
        pad = max(abs(low + high) / 2 * 0.1, 0.01 if kind == "percent" else 1.0)
        low, high = low - pad, high + pad
    step = _step((high - low) / _TICKS, whole=kind == "count")
    start = math.floor(low / step + 1e-9) * step
    end = math.ceil(high / step - 1e-9) * step
    if floor is not None:
        start = max(start, floor)
    first = math.ceil(start / step - 1e-9)
    ticks = [_clean(i * step) for i in range(first, math.floor(end / step + 1e-9) + 1)]
    digits = _digits(step * 100) if kind == "percent" else 0
    return {
        "min": _clean(start),
        "max": _clean(end),
        "ticks": ticks,
        "digits": digits,
        "labels": [tick_label(t, kind, digits) for t in ticks],
    }


def tick_label(value: float, kind: Literal["percent", "count"], digits: int) -> str:
    """As charts.js writes it."""
    if kind == "percent":
        return f"{_clean(value * 100):.{digits}f} %"
    return f"{value:,.0f}"


def _step(rough: float, *, whole: bool) -> float:
    """The round step (1, 2, 2.5 or 5 times a power of ten) at or above `rough`; counts
    step by whole numbers."""
    if whole and rough <= 1:
        return 1.0
    power = 10.0 ** math.floor(math.log10(rough))
    for multiple in (1, 2, 2.5, 5, 10):
        step = multiple * power
        if step >= rough * (1 - 1e-9) and not (whole and step != round(step)):
            return max(step, 1.0) if whole else step
    return 10 * power


def _digits(step: float) -> int:
    """Decimals that show a multiple of `step` exactly, so neighbouring ticks differ."""
    for digits in range(7):
        scaled = step * 10**digits
        if abs(scaled - round(scaled)) < 1e-6:
            return digits
    return 6


def _clean(value: float) -> float:
    """Rounded off float noise (0.1 * 3), and no negative zero."""
    return round(value, 12) + 0.0


def activity(rows: Sequence[RollupDay], variants: Sequence[str]) -> dict[str, Any]:
    """Impressions and dismissals per variant per day, as they happened."""
    days = sorted({row.day for row in rows})
    by = {(row.day, row.variant): row for row in rows}
    series: list[dict[str, Any]] = []
    for key in variants:
        at = [by.get((day, key)) for day in days]
        series.append(
            {"label": f"{key} impressions", "values": [r.impressions if r else 0 for r in at]}
        )
        series.append(
            {
                "label": f"{key} dismissals",
                "values": [r.dismissals if r else 0 for r in at],
                "dash": True,
            }
        )
    counts = [float(v) for s in series for v in s["values"]]
    x = _x(days)
    return {
        "x": x,
        "periods": ["day"] * len(x),
        "xaxis": time_axis(x, ["day"] * len(x)),
        "series": series,
        "format": "count",
        "axis": axis([0.0, *counts], "count", floor=0.0),
    }
