"""The outermost WSGI layer: request ids, latency metrics and the headers every response gets.

Every request gets an id (the caller's X-Request-ID if it is a sane token, else a new one),
echoed in the response and attached to every log line written while it is handled. The
route template (not the raw path, which would explode the label set) labels the metrics: the
decision endpoint and Flask's routing each leave it in the environ.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from service.log_format import REQUEST_ID
from service.metrics import REQUEST_SECONDS, REQUESTS

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
ROUTE_KEY = "smallfavor.route"
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
HSTS = "max-age=31536000; includeSubDomains"


class RequestObserver:
    def __init__(self, app: WsgiApp, *, always_https: bool) -> None:
        self._app = app
        self._always_https = always_https
        self._timers: dict[tuple[str, str], Any] = {}

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        began = time.perf_counter()
        sent = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = sent if _SANE_ID.fullmatch(sent) else uuid.uuid4().hex
        environ["smallfavor.request_id"] = request_id
        token = REQUEST_ID.set(request_id)
        secure = self._always_https or environ.get("wsgi.url_scheme") == "https"
        status = ["500"]

        def observed_start(code: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[0] = code[:3]
            _harden(headers, secure)
            headers.append(("X-Request-ID", request_id))
            return start_response(code, headers, exc_info)

        try:
            return self._app(environ, observed_start)
        finally:
            route = environ.get(ROUTE_KEY, "unmatched")
            method = environ.get("REQUEST_METHOD", "GET")
            timer = self._timers.get((route, method))
            if timer is None:  # label lookups cost more than the observation; cache them
                timer = self._timers[(route, method)] = REQUEST_SECONDS.labels(route, method)
            timer.observe(time.perf_counter() - began)
            REQUESTS.labels(route, method, status[0]).inc()
            REQUEST_ID.reset(token)


def _harden(headers: list[tuple[str, str]], secure: bool) -> None:
    """Headers every answer carries; a page that set its own policy keeps it."""
    present = {name.lower() for name, _ in headers}
    headers.append(("X-Content-Type-Options", "nosniff"))
    if secure and "strict-transport-security" not in present:
        headers.append(("Strict-Transport-Security", HSTS))
    content_type = next((v for n, v in headers if n.lower() == "content-type"), "")
    if content_type.startswith("text/html"):
        if "content-security-policy" not in present:
            # Pages outside the dashboard (the demo) may not be framed by another site either.
            headers.append(("Content-Security-Policy", "frame-ancestors 'none'"))
        if "x-frame-options" not in present:
            headers.append(("X-Frame-Options", "DENY"))
