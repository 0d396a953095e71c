"""The rows of an export file and their stable, documented columns (docs/EXPORTS.md).

One table per experiment, whatever the format: first a `summary` row per variant with the
report's statistics over the period, then a `day` row per UTC day and variant. Day rows carry
that day's events (from the flusher's daily rollups) and the report's cumulative series
through that day (visitors first exposed up to then); a cumulative figure is carried forward
over days without new exposures, because those days do not change it.

Columns are only ever added at the end, never renamed or reordered: consumers key on them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from typing import Any, Literal

from service.domain.experiment import Engine, Experiment
from service.domain.payment_model import first_gifts
from service.domain.report_csv import REMINDER_COUNTS, reminder_cells
from service.domain.report_metrics import METRIC_NAMES
from service.domain.report_model import (
    COMPARISON_COLUMNS,
    AnalysisSettings,
    Report,
    VariantRow,
    Verdict,
)
from service.domain.report_reminders import REMINDER_METRICS
from service.domain.report_variants import FIGURES
from service.store.sql.rollup_days import RollupDay

ColumnType = Literal["string", "integer", "number", "boolean", "date", "timestamp"]

# The registry's metrics in the first published column set; later ones go at the very end.
_FIRST_METRICS = 3
_COUNTS = ("impressions", "views", "clicks")
_DISMISS = ("dismiss_remind_later", "dismiss_close", "dismiss_already_donated")
_FIGURE_TYPES = {f.name: f.type for f in fields(VariantRow)}
_BANDS = ("conversion_rate", "revenue_per_visitor")  # the daily series' intervals


def _metric_columns(metrics: Sequence[str]) -> list[tuple[str, ColumnType]]:
    columns: list[tuple[str, ColumnType]] = []
    for metric in metrics:
        columns.append((metric, "number"))
        columns += [
            (f"{metric}_{name}", "string" if name == "error" else "number")
            for name in COMPARISON_COLUMNS
        ]
    return columns


COLUMNS: tuple[tuple[str, ColumnType], ...] = (
    ("row_type", "string"),
    ("experiment", "string"),
    ("run_id", "integer"),
    ("period_from", "date"),
    ("period_to", "date"),
    ("generated_at", "timestamp"),
    ("currency", "string"),
    ("primary_metric", "string"),
    ("analysis", "string"),
    ("variant", "string"),
    ("weight", "number"),
    ("date", "date"),
    *((name, "integer") for name in ("visitors", *_COUNTS, *_DISMISS)),
    # A figure's type is the report's: VariantRow declares counts int, the rest float.
    *((name, "integer" if _FIGURE_TYPES[name] == "int" else "number") for name in FIGURES),
    ("cumulative_visitors", "integer"),
    *((f"{metric}_interval_{end}", "number") for metric in _BANDS for end in ("low", "high")),
    *_metric_columns(METRIC_NAMES[:_FIRST_METRICS]),
    ("srm_p_value", "number"),
    ("srm_mismatch", "boolean"),
    ("verdict", "string"),
    ("verdict_text", "string"),
    *_metric_columns(METRIC_NAMES[_FIRST_METRICS:]),
    # E-mail reminders (summary rows, when the report has them): counts, then the two
    # per-visitor metrics with their comparisons.
    *(
        (f"reminder_{name}", "number" if name == "revenue_after_reminder" else "integer")
        for name in REMINDER_COUNTS
    ),
    *_metric_columns([f"reminder_{metric}" for metric in REMINDER_METRICS]),
)
COLUMN_NAMES = tuple(name for name, _ in COLUMNS)
_TYPES = dict(COLUMNS)

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ExportTable:
    experiment: str
    period_from: date
    period_to: date
    rows: list[Row]
    verdicts: tuple[Verdict, ...]  # the report's, for the e-mail digest
    srm_mismatch: bool


def build_table(
    experiment: Experiment,
    report: Report,
    days: Sequence[RollupDay],
    *,
    run_id: int | None,
    first_day: date,
    period_to: date,
    generated_at: datetime,
) -> ExportTable:
    """`first_day`: when the experiment started (or was created); the period starts then, or
    on the first day with data if that is earlier."""
    data_days = [d.day for d in days] + [date.fromisoformat(p.date) for p in report.daily]
    period_from = min([first_day, *data_days]) if data_days else min(first_day, period_to)
    common: Row = {
        "experiment": experiment.key,
        "run_id": run_id,
        "period_from": period_from,
        "period_to": period_to,
        "generated_at": generated_at,
        "currency": report.currency,
        "primary_metric": report.primary_metric,
        "analysis": analysis_label(report.analysis),
    }
    weights = {v.key: v.weight for v in experiment.variants}
    verdicts = {v.variant: v for v in report.verdicts}
    reminders = {r.variant: r for r in report.reminders.variants} if report.reminders else {}
    rows = [
        _typed(
            {
                **common,
                **_summary(variant, report, verdicts.get(variant.key)),
                **reminder_cells(reminders.get(variant.key)),
            }
        )
        for variant in report.variants
    ]
    rows += [
        _typed({**common, "weight": weights[row["variant"]], **row})
        for row in _day_rows(experiment, report, days)
    ]
    return ExportTable(
        experiment.key,
        period_from,
        period_to,
        rows,
        report.verdicts,
        report.srm.mismatch,
    )


def analysis_label(analysis: AnalysisSettings) -> str:
    """The `analysis` column: how to read the comparison columns. `bayesian` fills
    chance_to_beat_control and risk, `fixed` and `sequential` (frequentist) the p-values and
    the absolute difference; the other engine's columns stay empty."""
    if analysis.engine == Engine.bayesian:
        return "bayesian"
    return "sequential" if analysis.sequential else "fixed"


def _summary(variant: VariantRow, report: Report, verdict: Verdict | None) -> Row:
    row: Row = {
        "row_type": "summary",
        "variant": variant.key,
        "weight": variant.weight,
        "visitors": variant.visitors,
        **{name: getattr(variant, name) for name in (*_COUNTS, *FIGURES)},
        **{f"dismiss_{reason}": n for reason, n in asdict(variant.dismissals).items()},
        "srm_p_value": report.srm.p_value,
        "srm_mismatch": report.srm.mismatch,
        "verdict": verdict.status if verdict else None,
        "verdict_text": verdict.text if verdict else None,
    }
    for metric in METRIC_NAMES:
        figures = variant.metrics[metric]
        row[metric] = figures.value
        row.update({f"{metric}_{name}": value for name, value in figures.columns().items()})
    return row


def _day_rows(experiment: Experiment, report: Report, days: Iterable[RollupDay]) -> list[Row]:
    keys = [v.key for v in experiment.variants]
    events = {(d.day, d.variant): d for d in days if d.variant in keys}
    series = {(date.fromisoformat(p.date), p.variant): p for p in report.daily}
    primary = report.primary_metric
    carried: dict[str, Row] = {}
    out = []
    for day in sorted({day for day, _ in (*events, *series)}):
        for key in keys:
            # A day without events in this variant: zero counts, no ratios.
            rollup = events.get((day, key)) or RollupDay(day, key, 0, 0, 0, 0, 0, 0, 0, 0, 0.0, 0.0)
            point = series.get((day, key))
            if point is not None:
                low, high = point.ci or (None, None)
                carried[key] = {
                    "cumulative_visitors": point.visitors,
                    "conversion_rate": point.conversion_rate,
                    "revenue_per_visitor": point.revenue_per_visitor,
                    **_interval("conversion_rate", point.conversion_rate_ci),
                    **_interval("revenue_per_visitor", point.revenue_per_visitor_ci),
                    f"{primary}_relative_lift": point.lift,
                    f"{primary}_ci_low": low,
                    f"{primary}_ci_high": high,
                }
            out.append(
                {
                    "row_type": "day",
                    "variant": key,
                    "date": day,
                    **_day_events(rollup),
                    **carried.get(key, {}),
                }
            )
    return out


def _day_events(rollup: RollupDay) -> Row:
    return {
        "visitors": rollup.new_visitors,
        **{name: getattr(rollup, name) for name in (*_COUNTS, *_DISMISS)},
        "payments": rollup.conversions,
        "revenue": rollup.revenue,
        "annualised_value": rollup.annualised_value,
        "average_gift": _ratio(
            first_gifts(rollup.revenue, rollup.refunded, rollup.renewal_revenue), rollup.conversions
        ),
        "revenue_per_1000_impressions": _ratio(rollup.revenue * 1000, rollup.impressions),
        "click_through_rate": _ratio(rollup.clicks, rollup.impressions),
        "dismiss_rate": _ratio(rollup.dismissals, rollup.impressions),
    }


def _interval(metric: str, band: Sequence[float] | None) -> Row:
    low, high = band or (None, None)
    return {f"{metric}_interval_low": low, f"{metric}_interval_high": high}


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _typed(row: Row) -> Row:
    """Every column present, in column order, as its column's type (an integer-valued weight
    is still a number), so CSV, JSON and Parquet hold the same values."""
    out: Row = {}
    for name in COLUMN_NAMES:
        value = row.get(name)
        kind = _TYPES[name]
        if value is not None and kind == "integer":
            value = int(value)
        elif value is not None and kind == "number":
            value = float(value)
        out[name] = value
    return out
