"""The experiment report as JSON and as CSV (DESIGN §3, §5), for viewers and up."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from typing import Any, cast

from flask import Blueprint, Response, jsonify, request

from service.api.admin import load_experiment
from service.api.auth import require_role
from service.api.context import services
from service.api.errors import ApiError
from service.domain.cells import cell
from service.domain.report import FIGURES, Segment
from service.domain.report_metrics import METRIC_NAMES
from service.domain.report_model import COMPARISON_COLUMNS, Report, VariantRow, report_json
from service.domain.roles import Role
from service.usecases.build_report import report_for

bp = Blueprint("reports", __name__, url_prefix="/v1/admin")

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits: \d takes "١٢٣" too
_SEGMENTS = ("country", "device")
_COUNTS = ("visitors", "impressions", "views", "clicks")
_DISMISSALS = ("remind_later", "close", "already_donated")
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
        for metric in METRIC_NAMES
        for column in (metric, *(f"{metric}_{name}" for name in COMPARISON_COLUMNS))
    ),
)


@bp.get("/experiments/<experiment_key:key>/report")
@require_role(Role.viewer)
def report(key: str) -> Response:
    return jsonify(report_json(_report(key)))


@bp.get("/experiments/<experiment_key:key>/report.csv")
@require_role(Role.viewer)
def report_csv(key: str) -> Response:
    return csv_response(key, _report(key))


def csv_response(key: str, body: Report) -> Response:
    """The report as a CSV download: overall rows, then one per segment value and variant."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for variant in body.variants:
        writer.writerow(_csv_row(key, None, None, variant))
    for group in body.segments or ():
        for variant in group.variants:
            writer.writerow(_csv_row(key, body.segment, group.value, variant))
    return Response(
        out.getvalue().encode("utf-8"),
        mimetype="text/csv",
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{key}-report.csv"',
        },
    )


def _report(key: str) -> Report:
    start, end, segment = report_params()
    experiment = load_experiment(key).experiment
    return report_for(services(), experiment, start=start, end=end, segment=segment)


def report_params() -> tuple[date | None, date | None, Segment | None]:
    """from, to and segment from the query string, or a 400 naming the bad one."""
    start = _date_param("from")
    end = _date_param("to")
    if start and end and start > end:
        raise ApiError(400, "bad_request", "the date range is empty", {"from": "must be <= to"})
    raw_segment = request.args.get("segment") or None
    if raw_segment is not None and raw_segment not in _SEGMENTS:
        raise ApiError(
            400, "bad_request", "unknown segment", {"segment": f"one of {', '.join(_SEGMENTS)}"}
        )
    return start, end, cast(Segment | None, raw_segment)


def _date_param(name: str) -> date | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        if not _DATE.fullmatch(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError(
            400, "bad_request", f"{name} is not a date", {name: "use YYYY-MM-DD"}
        ) from None


def _csv_row(
    key: str, segment: str | None, value: str | None, variant: VariantRow
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
    return {name: cell(row[name]) for name in CSV_COLUMNS}
