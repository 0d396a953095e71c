"""POST /v1/admin/experiments/<key>/dry-run: an experiment's reach, overlap and duration,
estimated from the placement's sampled decisions before it starts (editors and up).

Body (application/json, every field optional; empty body = all defaults):
`{"minimum_effect": 0.1, "baseline": 0.02, "baseline_sd": null, "days": 7}`; see
service/domain/dry_run.py for the method and service/schemas/dry_run.py for the answer.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from service.api.admin.auth import require_role
from service.api.admin.experiments import load_experiment
from service.api.http import json_object
from service.domain.roles import Role
from service.schemas.dry_run import parse_request
from service.usecases.dry_run import estimate
from service.web import services

bp = Blueprint("dry_run", __name__, url_prefix="/v1/admin")


@bp.post("/experiments/<experiment_key:key>/dry-run")
@require_role(Role.editor)
def dry_run_endpoint(key: str) -> Response:
    experiment = load_experiment(key).experiment
    body: dict[str, Any] = json_object() if request.get_data(cache=True).strip() else {}
    checked = parse_request(body, experiment.analysis.primary_metric)  # 422 naming fields
    return jsonify(estimate(services(), experiment, checked).as_dict())
