"""The experiment report as CSV (DESIGN §3, §5): overall rows, then one per segment value
and variant, then, for a shipped experiment with a holdout, the "since shipping" arms (segment
`since_shipping`, its value the instant readers are counted from, the holdout's variant
`~holdout`); the admin API and the dashboard both serve it. Metric columns come from the
registry, so a new metric gets its columns without an edit here; the comparison columns are
the experiment's engine's only (report_model.ENGINE_COLUMNS)."""

from __future__ import annotations

import csv
import io
from typing import Any

from service.domain.cells import cell
from service.domain.experiment import Engine
from service.domain.report_metrics import METRIC_NAMES
from service.domain.report_model import ENGINE_COLUMNS, ReminderRow, Report, VariantRow
from service.domain.report_reminders import REMINDER_METRICS
from service.domain.report_variants import FIGURES

_COUNTS = ("visitors", "impressions", "views", "clicks")
_DISMISSALS = ("remind_later", "close", "already_donated")
_LEADING = (
    "experiment",
    "segment",
    "segment_value",
    "variant",
    "weight",
    *_COUNTS,
    *(f"dismiss_{reason}" for reason in _DISMISSALS),
    *FIGURES,
)


# The e-mail reminders' figures (ReminderRow), after every metric, as `reminder_<field>`; the
# two compared ones with their comparison columns. Empty in segment rows and in reports without
# reminders: the columns never depend on the data.
REMINDER_COUNTS = (
    "signups",
    "confirmations",
    "sent",
    "clicks",
    "donors_after_reminder",
    "donations_after_reminder",
    "revenue_after_reminder",
)


def csv_columns(engine: Engine) -> tuple[str, ...]:
    return (
        *_LEADING,
        *_compared(METRIC_NAMES, engine, ""),
        *(f"reminder_{name}" for name in REMINDER_COUNTS),
        *_compared(REMINDER_METRICS, engine, "reminder_"),
    )


def _compared(metrics: tuple[str, ...], engine: Engine, prefix: str) -> tuple[str, ...]:
    return tuple(
        f"{prefix}{column}"
        for metric in metrics
        for column in (metric, *(f"{metric}_{name}" for name in ENGINE_COLUMNS[engine]))
    )


def reminder_cells(row: ReminderRow | None) -> dict[str, Any]:
    """A variant's reminder figures as `reminder_*` columns (every comparison column, both
    engines'), or nothing when the report has none for it."""
    if row is None:
        return {}
    out: dict[str, Any] = {f"reminder_{name}": getattr(row, name) for name in REMINDER_COUNTS}
    for metric in REMINDER_METRICS:
        figures = getattr(row, metric)
        out[f"reminder_{metric}"] = figures.value
        out.update({f"reminder_{metric}_{k}": v for k, v in figures.columns().items()})
    return out


def render_csv(key: str, body: Report) -> bytes:
    out = io.StringIO()
    columns = csv_columns(body.analysis.engine)
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    reminders = {r.variant: r for r in body.reminders.variants} if body.reminders else {}
    for variant in body.variants:
        row = _csv_row(key, None, None, variant, columns)
        row.update(
            {k: cell(v) for k, v in reminder_cells(reminders.get(variant.key)).items() if k in row}
        )
        writer.writerow(row)
    for group in body.segments or ():
        for variant in group.variants:
            writer.writerow(_csv_row(key, body.segment, group.value, variant, columns))
    if body.since_shipping is not None:
        since = body.since_shipping
        for variant in since.variants:
            writer.writerow(_csv_row(key, "since_shipping", since.since, variant, columns))
    return out.getvalue().encode("utf-8")


def _csv_row(
    key: str,
    segment: str | None,
    value: str | None,
    variant: VariantRow,
    columns: tuple[str, ...],
) -> dict[str, str]:
    row: dict[str, Any] = {
        "experiment": key,
        "segment": segment,
        "segment_value": value,
        "variant": variant.key,
        "weight": variant.weight,
        **{name: getattr(variant, name) for name in (*_COUNTS, *FIGURES)},
        **{f"dismiss_{reason}": getattr(variant.dismissals, reason) for reason in _DISMISSALS},
    }
    for metric in METRIC_NAMES:
        figures = variant.metrics[metric]
        row[metric] = figures.value
        row.update({f"{metric}_{name}": v for name, v in figures.columns().items()})
    return {name: cell(row.get(name)) for name in columns}
