"""Chart series for the results page, shaped for uPlot: one shared x axis (UTC days as unix
seconds) and aligned y arrays, with None where a variant has no figure that day, and each
chart's y axis (`axis`): its range and ticks, chosen here so that they can be tested.

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


def _x(days: Sequence[date]) -> list[int]:
    return [int(datetime.combine(day, time(), UTC).timestamp()) for day in days]


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
    """One variant's daily `value` with the bounds of its interval `band`, none below `floor`."""

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
    relative lift over control with its interval, from the report's daily series."""
    points = {(p.date, p.variant): p for p in report.daily}
    days = sorted({date.fromisoformat(p.date) for p in report.daily})
    conversion = []
    lift = []
    for index, key in enumerate(variants):
        at = [points.get((day.isoformat(), key)) for day in days]
        conversion.append(_series(key, at, "conversion_rate", "conversion_rate_ci"))
        if index:
            lift.append(_series(f"{key} vs {variants[0]}", at, "lift", "ci", LIFT_FLOOR))
    if not any(v is not None for s in lift for v in s["values"]):
        lift = []  # no comparison has its donors yet (domain/verdicts.py): nothing to chart
    x = _x(days)
    return {
        "conversion": {
            "x": x,
            "series": conversion,
            "format": "percent",
            "axis": axis(_figures(conversion), "percent", floor=0.0),
        },
        "lift": {
            "x": x,
            "series": lift,
            "format": "percent",
            "metric": report.primary_metric,
            "floor": LIFT_FLOOR,
            # No change (0) stays in view: it is what the band is read against.
            "axis": axis([0.0, *_figures(lift)], "percent", floor=LIFT_FLOOR),
        },
    }


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
    if high - low < 1e-12:  # one value: a small span around it, so it sits mid-chart
        pad = abs(low) * 0.1 or (0.01 if kind == "percent" else 1.0)
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
    return {
        "x": _x(days),
        "series": series,
        "format": "count",
        "axis": axis([0.0, *counts], "count", floor=0.0),
    }
