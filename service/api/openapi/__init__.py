"""GET /openapi.json: the OpenAPI 3.1 description of every endpoint (DESIGN §3), and GET /docs:
the same document as a readable page (server-rendered, no script from anywhere)."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, render_template
from markupsafe import Markup, escape

from service.api.openapi import operations

bp = Blueprint("openapi", __name__, template_folder="templates")
_METHODS = ("get", "put", "post", "delete", "patch", "options", "head")
_DOCUMENT = "smallfavor.openapi"


def document(app: Flask) -> dict[str, Any]:
    """The app's document, generated from its routes on first use."""
    doc: dict[str, Any] | None = app.extensions.get(_DOCUMENT)
    if doc is None:
        doc = app.extensions[_DOCUMENT] = operations.document(app)
    return doc


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(document(current_app))


@bp.get("/docs")
def docs() -> str:
    doc = document(current_app)
    return render_template(
        "api_docs.html",
        doc=doc,
        sections=_sections(doc),
        schemas=doc["components"]["schemas"],
        describe=describe,
        text=prose,
    )


def _sections(document: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Operations grouped by their first tag, in the document's tag order."""
    groups: dict[str, list[dict[str, Any]]] = {tag["name"]: [] for tag in document["tags"]}
    for path, item in document["paths"].items():
        shared = item.get("parameters", [])
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            tag = (operation.get("tags") or ["Other"])[0]
            groups.setdefault(tag, []).append(
                {
                    "method": method.upper(),
                    "path": path,
                    "anchor": f"{method}-{path}".replace("/", "-").strip("-"),
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "parameters": [*shared, *operation.get("parameters", [])],
                    "body": _body(operation.get("requestBody")),
                    "responses": operation.get("responses", {}),
                    "secured": bool(operation.get("security")),
                }
            )
    return [(tag, ops) for tag, ops in groups.items() if ops]


def _body(request_body: dict[str, Any] | None) -> list[tuple[str, dict[str, Any]]]:
    if not request_body:
        return []
    return [(kind, media.get("schema", {})) for kind, media in request_body["content"].items()]


_CODE_SPAN = re.compile(r"`([^`]+)`")


def prose(text: str | None) -> Markup:
    """A description as the page shows it: Markdown's inline `code` spans become <code>, and
    everything else is escaped text (the descriptions are ours, but never trusted as HTML)."""
    parts = _CODE_SPAN.split(text or "")
    # split() alternates plain text (even indexes) and the spans' contents (odd ones).
    return Markup("").join(
        Markup("<code>{}</code>").format(part) if odd else escape(part)
        for odd, part in ((i % 2 == 1, part) for i, part in enumerate(parts))
    )


def describe(schema: dict[str, Any] | None) -> str:
    """A schema in a few words: `Experiment`, `string, one of a | b`, `array of Event`."""
    if not schema:
        return ""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "enum" in schema:
        return "one of " + " | ".join("null" if v is None else str(v) for v in schema["enum"])
    for combinator in ("oneOf", "anyOf"):
        if combinator in schema:
            return " or ".join(describe(option) for option in schema[combinator])
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        kind = " or ".join(kind)
    if kind == "array":
        return f"array of {describe(schema.get('items'))}"
    limits = [
        f"{name} {schema[key]}"
        for key, name in (("minimum", "≥"), ("maximum", "≤"), ("maxLength", "max length"))
        if key in schema
    ]
    if "pattern" in schema:
        limits.append(f"matching {schema['pattern']}")
    return f"{kind} ({', '.join(limits)})" if limits else str(kind)
