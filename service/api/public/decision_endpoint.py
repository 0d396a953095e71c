"""GET /v1/decision as a plain WSGI endpoint in front of Flask.

Why not a Flask view: the decision is the one request every article page makes, and on these
2-core machines Flask's per-request machinery (request context, routing, response object,
after-request hooks) costs about as much as the decision's own work plus its Redis round
trip. Served here, the endpoint keeps the same contract — parsing, error envelope, CORS,
metrics — at a fraction of the cost (bench/decision measures it). Every other path, and any
other method on this one, goes on to Flask.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

import orjson

from service.api.http import USE_CASE_ERRORS, ApiError, use_case_answer
from service.api.public.cors import CorsPolicy
from service.api.public.decision_params import parse_decision_request
from service.settings import Settings
from service.usecases.decide import Decider
from service.web import error_body

log = logging.getLogger(__name__)

PATH = "/v1/decision"
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class DecisionEndpoint:
    def __init__(self, next_app: WsgiApp, decider: Decider, settings: Settings) -> None:
        self._next = next_app
        self._decider = decider
        self._cors = CorsPolicy(settings)
        # The WSGI environ spells request headers as HTTP_<NAME>.
        self._geo_key = "HTTP_" + settings.geo_header.upper().replace("-", "_")

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH:
            return self._next(environ, start_response)
        environ["smallfavor.route"] = PATH
        method = environ.get("REQUEST_METHOD", "GET")
        origin = environ.get("HTTP_ORIGIN")
        if method == "OPTIONS":
            headers = [("Allow", "GET, HEAD, OPTIONS"), ("Content-Length", "0")]
            start_response("204 No Content", headers + self._cors.headers(origin, True))
            return [b""]
        if method not in ("GET", "HEAD"):
            status, body = 405, error_body("method_not_allowed", f"{method} is not allowed here")
            extra = [("Allow", "GET, HEAD, OPTIONS")]
        else:
            status, body = self._answer(environ)
            extra = environ.pop("smallfavor.headers", [])
        payload = orjson.dumps(body)
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            # A decision is per reader and per moment: no cache, shared or private, keeps it.
            ("Cache-Control", "no-store"),
            *extra,
            *self._cors.headers(origin, False),
        ]
        start_response(
            _STATUS_LINES.get(status) or f"{status} {HTTPStatus(status).phrase}", headers
        )
        return [b""] if method == "HEAD" else [payload]

    def _answer(self, environ: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        args = _query_args(environ.get("QUERY_STRING", ""))
        try:
            parsed = parse_decision_request(
                args,
                user_agent=environ.get("HTTP_USER_AGENT", ""),
                country=environ.get(self._geo_key),
            )
            return 200, self._decider.answer(parsed, environ.get("REMOTE_ADDR", ""))
        except (ApiError, *USE_CASE_ERRORS) as exc:  # bad parameters, a rate limit, a bad QA link
            error = exc if isinstance(exc, ApiError) else use_case_answer(exc)
            environ["smallfavor.headers"] = list(error.headers.items())
            return error.status, error_body(error.code, error.message, error.fields)
        except Exception:
            log.exception("decision failed")
            return 500, error_body("internal", "internal server error")


_STATUS_LINES = {code: f"{code} {HTTPStatus(code).phrase}" for code in (200, 400, 429, 500)}


def _query_args(query: str) -> dict[str, str]:
    """The query string as request.args would give it (the first value of a name wins, blank
    values kept). Most of the snippet's parameters need no decoding, so parse_qsl's decoding
    of every name and value is done only where a '%' or '+' asks for it."""
    if "%" in query or "+" in query:
        args: dict[str, str] = {}
        for name, value in parse_qsl(query, keep_blank_values=True):
            args.setdefault(name, value)
        return args
    args = {}
    for pair in query.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            args.setdefault(name, value)
    return args
