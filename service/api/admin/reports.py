"""The experiment report as JSON and as CSV (DESIGN §3, §5), for viewers and up."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from service.api.admin.auth import require_role
from service.api.admin.experiments import load_experiment
from service.domain.report_csv import render_csv
from service.domain.report_model import Report, report_json
from service.domain.report_query import report_params
from service.domain.roles import Role
from service.usecases.build_report import report_for
from service.web import csv_download, services

bp = Blueprint("reports", __name__, url_prefix="/v1/admin")


@bp.get("/experiments/<experiment_key:key>/report")
@require_role(Role.viewer)
def report(key: str) -> Response:
    return jsonify(report_json(_report(key)))


@bp.get("/experiments/<experiment_key:key>/report.csv")
@require_role(Role.viewer)
def report_csv(key: str) -> Response:
    return csv_download(f"{key}-report.csv", render_csv(key, _report(key)))


def _report(key: str) -> Report:
    start, end, segment = report_params(request.args)
    experiment = load_experiment(key).experiment
    return report_for(services(), experiment, start=start, end=end, segment=segment)
