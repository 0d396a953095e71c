"""Chart series for the results page, shaped for uPlot: one shared x axis (UTC days as unix
seconds) and aligned y arrays, with None where a variant has no figure that day."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from service.domain.report_model import DailyPoint, Report
from service.store.sql.rollup_days import RollupDay


def _x(days: Sequence[date]) -> list[int]:
    return [int(datetime.combine(day, time(), UTC).timestamp()) for day in days]


def _series(label: str, at: Sequence[DailyPoint | None], value: str, band: str) -> dict[str, Any]:
    """One variant's daily `value` with the bounds of its interval `band`."""

    def bound(point: DailyPoint | None, index: int) -> float | None:
        bounds = getattr(point, band) if point is not None else None
        return None if bounds is None else float(bounds[index])

    return {
        "label": label,
        "values": [getattr(p, value) if p else None for p in at],
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
            lift.append(_series(f"{key} vs {variants[0]}", at, "lift", "ci"))
    x = _x(days)
    return {
        "conversion": {"x": x, "series": conversion, "format": "percent"},
        "lift": {"x": x, "series": lift, "format": "percent", "metric": report.primary_metric},
    }


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
    return {"x": _x(days), "series": series, "format": "count"}
