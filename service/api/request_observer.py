"""The outermost WSGI layer: request ids, latency metrics and the headers every response gets.

Every request gets an id (the caller's X-Request-ID if it is a sane token, else a new one),
echoed in the response and attached to every log line written while it is handled. The
route template (not the raw path, which would explode the label set) labels the metrics: the
decision endpoint and Flask's routing each leave it in the environ. The method and status are
mapped into fixed sets too (service/metrics.py): no label value is the client's choice.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from service.log_format import REQUEST_ID
from service.metrics import REQUEST_SECONDS, REQUESTS, method_label, status_label

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
ROUTE_KEY = "smallfavor.route"
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
HSTS = "max-age=31536000; includeSubDomains"
# Request ids: a random per-process prefix and a counter, unique across processes and far
# cheaper than a uuid4 per request (the decision path counts microseconds).
_PREFIX = os.urandom(6).hex()
_COUNTER = itertools.count(1)


class RequestObserver:
    def __init__(self, app: WsgiApp, *, always_https: bool) -> None:
        self._app = app
        self._always_https = always_https
        # Label lookups cost more than the observations: children are cached per label set.
        self._timers: dict[tuple[str, str], Any] = {}
        self._counters: dict[tuple[str, str, str], Any] = {}

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        began = time.perf_counter()
        sent = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = sent if sent and _SANE_ID.fullmatch(sent) else f"{_PREFIX}{next(_COUNTER):08x}"
        environ["smallfavor.request_id"] = request_id
        token = REQUEST_ID.set(request_id)
        secure = self._always_https or environ.get("wsgi.url_scheme") == "https"
        status = ["500"]

        def observed_start(code: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[0] = status_label(code)
            _harden(headers, secure)
            headers.append(("X-Request-ID", request_id))
            return start_response(code, headers, exc_info)

        try:
            return self._app(environ, observed_start)
        finally:
            route = environ.get(ROUTE_KEY, "unmatched")
            method = method_label(environ.get("REQUEST_METHOD", "GET"))
            timer = self._timers.get((route, method))
            if timer is None:
                timer = self._timers[(route, method)] = REQUEST_SECONDS.labels(route, method)
            timer.observe(time.perf_counter() - began)
            counter = self._counters.get((route, method, status[0]))
            if counter is None:
                counter = self._counters[(route, method, status[0])] = REQUESTS.labels(
                    route, method, status[0]
                )
            counter.inc()
            REQUEST_ID.reset(token)


def _harden(headers: list[tuple[str, str]], secure: bool) -> None:
    """Headers every answer carries; a page that set its own policy keeps it."""
    present = {name.lower() for name, _ in headers}
    if "x-content-type-options" not in present:  # the dashboard sets its own
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


@functools.lru_cache(maxsize=512)
def route_label(rule: str) -> str:
    """The rule as people write it: `/v1/admin/experiments/<key>`, converters left out."""
    return re.sub(r"<(?:[^<>:]+:)?([^<>:]+)>", r"<\1>", rule)
