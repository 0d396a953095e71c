"""Reading JSON request bodies at the edge, with errors that say what was wrong."""

from __future__ import annotations

from typing import Any

import orjson
from flask import request

from service.api.errors import ApiError

# Deeper documents than this are refused before any code walks them.
MAX_DEPTH = 32


def json_object() -> dict[str, Any]:
    if not request.is_json:
        raise ApiError(
            415,
            "unsupported_media_type",
            "send the body as application/json",
            {"Content-Type": "must be application/json"},
        )
    body = parse_json(request.get_data(cache=True) or b"null")
    if not isinstance(body, dict):
        raise ApiError(422, "invalid", "the body must be a JSON object", {"$": "must be an object"})
    return body


def parse_json(raw: bytes) -> Any:
    """Any JSON body, or a 400. orjson rather than the standard library: it refuses what
    strict JSON refuses and later steps could not handle (NaN and Infinity, lone surrogates,
    which no database or encoder takes, invalid UTF-8) and stops at 1,024 levels instead of
    raising RecursionError; MAX_DEPTH then keeps every document shallow."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        message = f"the body is not valid JSON: {exc}"
        raise ApiError(400, "invalid_json", message, {"$": str(exc)}) from None
    if _depth(body) > MAX_DEPTH:
        message = f"the body nests deeper than {MAX_DEPTH} levels"
        raise ApiError(400, "too_deep", message, {"$": message})
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
