"""Building blocks of the OpenAPI document's operations: helpers and shared responses (the
schemas are generated from service/schemas/)."""

from __future__ import annotations

from typing import Any

from service.schemas.experiment import KEY_PATTERN

Json = dict[str, Any]

_ADMIN = ["Admin"]
_PUBLIC = ["Public"]
_OPS = ["Operations"]
_PAGES = ["Snippet and demo"]
_BEARER: list[Json] = [{"bearerAuth": []}]


def _values(enum: Any) -> list[str]:
    return [member.value for member in enum]


def _ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: Json, description: str) -> Json:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> Json:
    return {"$ref": "#/components/responses/Error", "description": description}


def _javascript(description: str) -> Json:
    return {
        "description": description,
        "content": {"application/javascript": {"schema": {"type": "string"}}},
    }


def _html(description: str) -> Json:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


def _query(name: str, description: str, schema: Json | None = None, **extra: Any) -> Json:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": schema or {"type": "string"},
        **extra,
    }


_KEY_PARAM: Json = {
    "name": "key",
    "in": "path",
    "required": True,
    "description": "The experiment key.",
    "schema": {"type": "string", "pattern": f"^{KEY_PATTERN}$"},
}
_AUTH_ERRORS: Json = {
    "401": _error("No bearer token, or an unknown or revoked one."),
    "403": _error("The token's role is too low for this endpoint."),
}
_NOT_FOUND: Json = {"404": _error("No experiment with that key.")}


def _admin(role: str, summary: str, responses: Json, **extra: Any) -> Json:
    return {
        "tags": _ADMIN,
        "summary": summary,
        "description": f"Role: `{role}` or above (roles: viewer < editor < admin).",
        "security": _BEARER,
        **extra,
        "responses": {**responses, **_AUTH_ERRORS},
    }
