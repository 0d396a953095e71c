"""GET /openapi.json: the OpenAPI 3.1 description of every endpoint (DESIGN §3)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from service.api.openapi_document import DOCUMENT

bp = Blueprint("openapi", __name__)


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(DOCUMENT)
