"""What every API blueprint shares: the one JSON error envelope, the one place exceptions
become HTTP responses, and reading JSON request bodies with errors that say what was wrong.

{"error": {"code": "...", "message": "...", "fields": {"path": "why"}}}
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson
from flask import Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from service.domain.errors import (
    Conflict,
    DomainError,
    EditNotAllowed,
    InvalidRequest,
    NotFound,
    RateLimited,
    TransitionNotAllowed,
    ValidationFailed,
)
from service.usecases.errors import NotConfigured, Unavailable
from service.web import error_body

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}


class ApiError(Exception):
    """An answer in the error envelope; its code is the status's own (_CODES) unless given."""

    def __init__(
        self,
        status: int,
        message: str,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or _CODES[status]
        self.message = message
        self.fields = fields or {}
        self.headers = headers or {}


# Paths whose errors are pages for people, not JSON for programs: the dashboard registers its
# page for /dashboard (service/app.py), since this layer may not import it. (status, message)
ErrorPage = Callable[[int, str], Response]
_ERROR_PAGES = "smallfavor.error_pages"


def register_error_page(app: Flask, prefix: str, render: ErrorPage) -> None:
    app.extensions.setdefault(_ERROR_PAGES, []).append((prefix.rstrip("/"), render))


def _respond(error: ApiError) -> Response:
    """The JSON envelope, or the error page of the section the path belongs to."""
    path = request.path
    pages: list[tuple[str, ErrorPage]] = current_app.extensions.get(_ERROR_PAGES, [])
    for prefix, render in pages:
        if path == prefix or path.startswith(prefix + "/"):
            try:
                response = render(error.status, error.message)
            except Exception:  # the page failed too: the envelope still answers
                log.exception("error page failed")
                break
            response.headers.update(error.headers)
            return response
    response = jsonify(error_body(error.code, error.message, error.fields))
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def register_error_handlers(app: Flask) -> None:
    @app.before_request
    def _utf8_query_string() -> None:
        # werkzeug decodes the query string strictly on first use of request.args, and a WSGI
        # server passes raw bytes through: refuse what is not UTF-8 here, as bad input.
        try:
            request.query_string.decode()
        except UnicodeDecodeError:
            raise ApiError(
                400,
                "the query string is not UTF-8",
                {"query": "must be UTF-8, with other bytes percent-encoded"},
            ) from None

    app.register_error_handler(ApiError, _respond)
    for error in _ERROR_STATUS:
        app.register_error_handler(error, _use_case_error)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        status = exc.code or 500
        message = exc.description or exc.name
        response = _respond(ApiError(status, message, code=_CODES.get(status, "error")))
        if status == 405 and exc.response is None:
            allowed = getattr(exc, "valid_methods", None)
            if allowed:
                response.headers["Allow"] = ", ".join(allowed)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _respond(ApiError(500, "internal server error", code="internal"))


# What the use cases raise, as the status and code every front answers with: Flask's handlers
# below and the decision's WSGI front (service/api/public/decision_endpoint.py) alike.
_ERROR_STATUS: dict[type[Exception], tuple[int, str]] = {
    InvalidRequest: (400, "bad_request"),
    NotFound: (404, "not_found"),
    Conflict: (409, "conflict"),
    TransitionNotAllowed: (409, "transition_not_allowed"),
    EditNotAllowed: (409, "read_only"),
    ValidationFailed: (422, "invalid"),
    RateLimited: (429, "rate_limited"),
    NotConfigured: (503, "not_configured"),
    Unavailable: (503, "unavailable"),
}
USE_CASE_ERRORS = (DomainError, Unavailable)


def use_case_answer(exc: DomainError | Unavailable) -> ApiError:
    """A use case's error as the answer to give (Retry-After where the error says)."""
    status, code = next(_ERROR_STATUS[c] for c in type(exc).__mro__ if c in _ERROR_STATUS)
    retry_after = getattr(exc, "retry_after", None)
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    return ApiError(status, exc.message, getattr(exc, "fields", None), headers, code)


def _use_case_error(exc: DomainError | Unavailable) -> Response:
    return _respond(use_case_answer(exc))


# -- JSON request bodies -----------------------------------------------------------------

# Deeper documents than this are refused before any code walks them.
MAX_DEPTH = 32


def json_object() -> dict[str, Any]:
    if not request.is_json:
        raise ApiError(
            415, "send the body as application/json", {"Content-Type": "must be application/json"}
        )
    body = parse_json(request.get_data(cache=True) or b"null")
    if not isinstance(body, dict):
        raise ApiError(422, "the body must be a JSON object", {"$": "must be an object"})
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
        raise ApiError(400, message, {"$": str(exc)}, code="invalid_json") from None
    if _depth(body) > MAX_DEPTH:
        message = f"the body nests deeper than {MAX_DEPTH} levels"
        raise ApiError(400, message, {"$": message}, code="too_deep")
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
