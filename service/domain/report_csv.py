"""The experiment report as CSV (DESIGN §3, §5): overall rows, then one per segment value
and variant; the admin API and the dashboard both serve it."""

from __future__ import annotations

import csv
import io
from typing import Any

from service.domain.cells import cell
from service.domain.report import FIGURES, METRICS

_COUNTS = ("visitors", "impressions", "views", "clicks")
_DISMISSALS = ("remind_later", "close", "already_donated")
_VS = (
    "relative_lift",
    "p_value",
    "p_value_adjusted",
    "chance_to_beat_control",
    "risk",
    "absolute_difference",
)
CSV_COLUMNS = (
    "experiment",
    "segment",
    "segment_value",
    "variant",
    "weight",
    *_COUNTS,
    *(f"dismiss_{reason}" for reason in _DISMISSALS),
    *FIGURES,
    *(
        column
        for metric in METRICS
        for column in (
            metric,
            *(f"{metric}_{field}" for field in _VS[:1]),
            f"{metric}_ci_low",
            f"{metric}_ci_high",
            *(f"{metric}_{field}" for field in _VS[1:]),
            f"{metric}_error",
        )
    ),
)


def render_csv(key: str, body: dict[str, Any]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for variant in body["variants"]:
        writer.writerow(_csv_row(key, None, None, variant))
    for group in body.get("segments", []):
        for variant in group["variants"]:
            writer.writerow(_csv_row(key, body["segment"], group["value"], variant))
    return out.getvalue().encode("utf-8")


def _csv_row(
    key: str, segment: str | None, value: str | None, variant: dict[str, Any]
) -> dict[str, str]:
    row: dict[str, Any] = {
        "experiment": key,
        "segment": segment,
        "segment_value": value,
        "variant": variant["key"],
        "weight": variant["weight"],
        **{name: variant[name] for name in (*_COUNTS, *FIGURES)},
        **{f"dismiss_{reason}": variant["dismissals"][reason] for reason in _DISMISSALS},
    }
    for metric in METRICS:
        figures = variant["metrics"][metric]
        row[metric] = figures["value"]
        vs = figures["vs_control"] or {}
        row[f"{metric}_error"] = vs.get("error")
        for field in _VS:
            row[f"{metric}_{field}"] = vs.get(field)
        ci = vs.get("ci") or (None, None)
        row[f"{metric}_ci_low"], row[f"{metric}_ci_high"] = ci
    return {name: cell(row[name]) for name in CSV_COLUMNS}
