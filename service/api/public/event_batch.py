"""Reading one POST /v1/events body at the edge: its type, its size, its list of events.
What becomes of each event is service/usecases/record_events.py's business."""

from __future__ import annotations

from typing import Any

from flask import request

from service.api.http import ApiError, parse_json
from service.schemas.events import MAX_EVENTS

MAX_EVENTS_BYTES = 64 * 1024
MAX_QA_MARK = 300  # as a preview token in GET /v1/decision


def read_events() -> tuple[list[Any], str | None]:
    """The batch: application/json or text/plain (what sendBeacon sends), at most 64 KiB;
    and its QA mark, if any: the preview token of the QA session that sent it (a string of
    at most 300 characters, checked by the use case; anything else is no mark)."""
    if request.content_length is not None and request.content_length > MAX_EVENTS_BYTES:
        raise _too_large()
    mimetype = request.mimetype
    if mimetype not in ("application/json", "text/plain"):
        raise ApiError(
            415,
            "send application/json or text/plain",
            {"Content-Type": "must be application/json or text/plain"},
        )
    raw = request.get_data(cache=False)
    if len(raw) > MAX_EVENTS_BYTES:
        raise _too_large()
    body = parse_json(raw)
    events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(events, list) or not 1 <= len(events) <= MAX_EVENTS:
        raise ApiError(
            400,
            'the body must be {"events": [...]}',
            {"events": f"a list of 1 to {MAX_EVENTS} events"},
        )
    qa = body.get("qa")
    return events, qa if isinstance(qa, str) and 0 < len(qa) <= MAX_QA_MARK else None


def _too_large() -> ApiError:
    message = f"a batch is at most {MAX_EVENTS_BYTES} bytes"
    return ApiError(413, message, {"$": message})
