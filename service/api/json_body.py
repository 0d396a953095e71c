"""Reading JSON request bodies at the edge, with errors that say what was wrong."""

from __future__ import annotations

import json
from typing import Any

from flask import request

from service.api.errors import ApiError

# Deeper documents than this are refused before any code walks them.
MAX_DEPTH = 32


def json_object() -> dict[str, Any]:
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    raw = request.get_data(cache=True)
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None
    if _depth(body) > MAX_DEPTH:
        raise ApiError(400, "too_deep", f"the body nests deeper than {MAX_DEPTH} levels")
    if not isinstance(body, dict):
        raise ApiError(422, "invalid", "the body must be a JSON object", {"$": "must be an object"})
    return body


def _depth(value: Any) -> int:
    # Iterative, so a hostile document cannot exhaust the interpreter's stack.
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            break
        if isinstance(item, dict):
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, level + 1) for child in item)
    return deepest
