"""Production's refusal to serve while demo credentials work (service/demo/remove.py).

At start the app factory raises, so gunicorn's workers fail to boot with the message. A
database that gains them later (a seed against the live database, a restored dump) or that
was unreachable at start is caught by /readyz and by this guard: staff pages and the admin
API answer 503 with the same message, so the published password and token open nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import ServiceUnavailable

from service.demo.remove import DemoCredentialsPresent, find_leftovers
from service.web import READINESS_CHECKS, error_body
from service.wiring import Services

log = logging.getLogger(__name__)

# Staff surfaces re-check at most this often per process: one indexed query, off the
# decision and events paths, which never carry staff credentials.
RECHECK_SECONDS = 5.0
_GUARDED = ("/dashboard", "/v1/admin/")


class LeftoverCheck:
    """The last answer of `look` (a message, or None when clean), renewed when older than
    `every` seconds. A failed look keeps the previous answer: SQL being down is /readyz's
    business, and every staff request fails on its own then anyway."""

    def __init__(
        self,
        look: Callable[[], str | None],
        every: float,
        seconds: Callable[[], float],
    ) -> None:
        self._look = look
        self._every = every
        self._seconds = seconds
        self._answer: str | None = None
        self._at: float | None = None

    def current(self) -> str | None:
        now = self._seconds()
        if self._at is None or not 0 <= now - self._at < self._every:
            self._at = now
            try:
                self._answer = self._look()
            except Exception as exc:  # any driver error: keep the last answer
                log.warning("demo credential check failed: %s", type(exc).__name__)
        return self._answer


def install(app: Flask, svc: Services) -> None:
    """In production: refuse to start with demo credentials, and refuse staff requests while
    they appear later. Does nothing in development, where they are the point."""
    if not svc.settings.is_production:
        return

    def look() -> str | None:
        leftovers = find_leftovers(svc)
        return leftovers.describe() if leftovers else None

    # The service's clock (a test's FakeClock); a wall-clock jump only moves one re-check.
    check = LeftoverCheck(look, RECHECK_SECONDS, lambda: svc.clock().timestamp())
    message = check.current()
    if message:
        log.critical(message)
        raise DemoCredentialsPresent(message)

    def ready() -> str:
        try:
            return look() or "ok"
        except Exception as exc:  # not ready, never a 500
            return f"unreachable: {type(exc).__name__}"

    # /readyz looks afresh each time: a seed against the live database must take the pod out
    # of rotation, too.
    app.extensions.setdefault(READINESS_CHECKS, {})["demo_credentials"] = ready

    @app.before_request
    def refuse_while_demo_credentials_work() -> tuple[Response, int] | None:
        if not request.path.startswith(_GUARDED):
            return None
        message = check.current()
        if message is None:
            return None
        if request.path.startswith("/dashboard"):
            raise ServiceUnavailable(description=message)  # the dashboard's HTML error page
        return jsonify(error_body("demo_credentials", message)), 503
