"""The public API, for the snippet on article pages: CORS for the configured origins, no auth."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from service.api.context import decider, services
from service.api.decision_params import parse_decision_request
from service.metrics import DECISION_SECONDS

bp = Blueprint("public", __name__)


@bp.after_request
def cors(response: Response) -> Response:
    origin = request.headers.get("Origin")
    allowed = services().settings.allowed_origins
    if origin and ("*" in allowed or origin.rstrip("/") in allowed):
        response.headers["Access-Control-Allow-Origin"] = "*" if "*" in allowed else origin
        response.headers["Access-Control-Max-Age"] = "86400"
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = "Content-Type"
    response.vary.add("Origin")
    return response


@bp.get("/v1/decision")
def decision() -> Response:
    svc = services()
    parsed = parse_decision_request(
        request.args,
        user_agent=request.headers.get("User-Agent", ""),
        country=request.headers.get(svc.settings.geo_header),
    )
    with DECISION_SECONDS.time():
        body = decider().answer(parsed)
    response = jsonify(body)
    # A decision is per reader and per moment: no cache, shared or private, may keep it.
    response.headers["Cache-Control"] = "no-store"
    return response
