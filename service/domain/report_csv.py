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
from service.domain.report import FIGURES
from service.domain.report_metrics import METRIC_NAMES
from service.domain.report_model import ENGINE_COLUMNS, Report, VariantRow

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


def csv_columns(engine: Engine) -> tuple[str, ...]:
    return (
        *_LEADING,
        *(
            column
            for metric in METRIC_NAMES
            for column in (metric, *(f"{metric}_{name}" for name in ENGINE_COLUMNS[engine]))
        ),
    )


def render_csv(key: str, body: Report) -> bytes:
    out = io.StringIO()
    columns = csv_columns(body.analysis.engine)
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for variant in body.variants:
        writer.writerow(_csv_row(key, None, None, variant, columns))
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
    return {name: cell(row[name]) for name in columns}
