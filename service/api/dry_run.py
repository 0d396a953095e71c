"""POST /v1/admin/experiments/<key>/dry-run: an experiment's reach, overlap and duration,
estimated from the placement's sampled decisions before it starts (editors and up).

Body (application/json, every field optional; empty body = all defaults):
`{"minimum_effect": 0.1, "baseline": 0.02, "baseline_sd": null, "days": 7}`; see
service/domain/dry_run.py for the method and service/api/openapi_dry_run.py for the answer.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request

from service.api.admin import load_experiment
from service.api.auth import require_role
from service.api.context import services
from service.api.json_body import json_object
from service.domain.dry_run import DryRun, DryRunRequest, dry_run
from service.domain.dry_run_power import HISTORY_DAYS
from service.domain.experiment import Experiment, Status
from service.domain.roles import Role
from service.schemas.dry_run import parse_request
from service.store.sql.decision_log_repo import DecisionLogRepo
from service.store.sql.placement_history import placement_history
from service.wiring import Services

bp = Blueprint("dry_run", __name__, url_prefix="/v1/admin")


@bp.post("/experiments/<experiment_key:key>/dry-run")
@require_role(Role.editor)
def dry_run_endpoint(key: str) -> Response:
    experiment = load_experiment(key).experiment
    body: dict[str, Any] = json_object() if request.get_data(cache=True).strip() else {}
    checked = parse_request(body, experiment.analysis.primary_metric)  # 422 naming fields
    return jsonify(estimate(services(), experiment, checked).as_dict())


def estimate(svc: Services, experiment: Experiment, checked: DryRunRequest) -> DryRun:
    """Read what the dry run needs (samples, running experiments, history) and run it."""
    end = svc.clock()
    start = end - timedelta(days=checked.days)
    placement = experiment.placement.value
    window = DecisionLogRepo(svc.engine).window(placement, start, end)
    running = [s.experiment for s in svc.experiments.find([Status.running])]
    analysis = experiment.analysis
    history = placement_history(
        svc.engine,
        placement,
        analysis.primary_metric,
        end - timedelta(days=HISTORY_DAYS),
        analysis.revenue_cap,
    )
    return dry_run(
        experiment,
        window.samples,
        running,
        checked,
        start=start,
        end=end,
        estimated_decisions=window.total_weight,
        total_samples=window.total_samples,
        first_sample_at=window.first_at,
        history=history,
    )
