"""The public API, for the snippet on article pages: CORS for the configured origins, no auth.

The blueprint is built per app with its dependencies captured, so the hot path reads no
context-local proxies.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from service.api.decide import Decider
from service.api.decision_params import parse_decision_request
from service.settings import Settings


def blueprint(settings: Settings, decider: Decider) -> Blueprint:
    bp = Blueprint("public", __name__)
    allowed = frozenset(settings.allowed_origins)
    any_origin = "*" in allowed
    geo_header = settings.geo_header

    @bp.after_request
    def cors(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if origin and (any_origin or origin.rstrip("/") in allowed):
            response.headers["Access-Control-Allow-Origin"] = "*" if any_origin else origin
            response.headers["Access-Control-Max-Age"] = "86400"
            if request.method == "OPTIONS":
                response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
                response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Vary"] = "Origin"
        return response

    @bp.get("/v1/decision")
    def decision() -> Response:
        parsed = parse_decision_request(
            # A plain dict: MultiDict.get raises and catches a KeyError for every absent key.
            request.args.to_dict(),
            user_agent=request.headers.get("User-Agent", ""),
            country=request.headers.get(geo_header),
        )
        response = jsonify(decider.answer(parsed))
        # A decision is per reader and per moment: no cache, shared or private, may keep it.
        response.headers["Cache-Control"] = "no-store"
        return response

    return bp
