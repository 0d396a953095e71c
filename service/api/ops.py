"""Operator endpoints: liveness and readiness."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from service.api.context import services
from service.demo.remove import find_leftovers
from service.metrics import render
from service.store import migrate
from service.store.redis.stream_metrics import StreamCollector
from service.wiring import Services

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
    if svc.settings.is_production and checks["sql"] == "ok":
        # A seed against the live database must take the pod out of rotation, too.
        checks["demo_credentials"] = _demo_credentials(svc)
    ready = all(value == "ok" for value in checks.values())
    return jsonify({"status": "ok" if ready else "unavailable", "checks": checks}), (
        200 if ready else 503
    )


def _demo_credentials(svc: Services) -> str:
    try:
        leftovers = find_leftovers(svc)
    except Exception as exc:  # as above: not ready, never a 500
        return f"unreachable: {type(exc).__name__}"
    return leftovers.describe() if leftovers else "ok"


@bp.get("/metrics")
def metrics() -> Response:
    svc = services()
    payload, content_type = render([StreamCollector(svc.redis, svc.keys)])
    return Response(payload, content_type=content_type)
