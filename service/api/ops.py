"""Operator endpoints: liveness and readiness."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from service.metrics import render
from service.store import migrate
from service.store.redis.stream_metrics import StreamCollector
from service.web import readiness_checks, services

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    # Liveness only: a process that answers is alive; dependencies are /readyz's business,
    # so an orchestrator does not restart healthy web pods while Redis blips.
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    svc = services()
    checks: dict[str, str] = {}
    try:
        with svc.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["sql"] = migrate.schema_state(svc.engine)
    except Exception as exc:  # any driver error means "not ready", never a 500
        checks["sql"] = f"unreachable: {type(exc).__name__}"
    try:
        svc.redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"unreachable: {type(exc).__name__}"
    if checks["sql"] == "ok":
        # Checks other parts add, such as production's refusal of demo credentials.
        for name, check in readiness_checks().items():
            checks[name] = check()
    ready = all(value == "ok" for value in checks.values())
    return jsonify({"status": "ok" if ready else "unavailable", "checks": checks}), (
        200 if ready else 503
    )


@bp.get("/metrics")
def metrics() -> Response:
    svc = services()
    payload, content_type = render([StreamCollector(svc.redis, svc.keys)])
    return Response(payload, content_type=content_type)
