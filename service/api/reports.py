"""The experiment report as JSON and as CSV (DESIGN §3, §5), for viewers and up."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from service.api.admin import load_experiment
from service.api.auth import require_role
from service.domain.report_csv import render_csv
from service.domain.report_query import report_params
from service.domain.roles import Role
from service.store.sql.report_source import load_report
from service.web import csv_download, services

bp = Blueprint("reports", __name__, url_prefix="/v1/admin")


@bp.get("/experiments/<experiment_key:key>/report")
@require_role(Role.viewer)
def report(key: str) -> Response:
    return jsonify(_report(key))


@bp.get("/experiments/<experiment_key:key>/report.csv")
@require_role(Role.viewer)
def report_csv(key: str) -> Response:
    return csv_download(f"{key}-report.csv", render_csv(key, _report(key)))


def _report(key: str) -> dict[str, Any]:
    start, end, segment = report_params(request.args)
    svc = services()
    experiment = load_experiment(key).experiment
    return load_report(
        svc.engine, experiment, now=svc.clock(), start=start, end=end, segment=segment
    )
