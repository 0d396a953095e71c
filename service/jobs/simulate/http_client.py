"""A small HTTP/1.1 client for the simulator: one keep-alive connection per worker thread,
JSON in and out, 429s waited out, and a shared pacer that keeps under a per-minute limit.

Standard library only (http.client): the simulator adds no dependency to the service.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit


class Unreachable(Exception):
    """The service could not be reached (refused, unknown host, timed out, cut off)."""


class SimulationError(Exception):
    """The service answered something the simulation cannot go on from; one-line reason."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: Any  # parsed JSON, or None when the body is not JSON
    headers: Mapping[str, str]

    def error_message(self) -> str:
        """The service's error envelope's message, or the bare status."""
        error = self.body.get("error") if isinstance(self.body, dict) else None
        if isinstance(error, dict) and error.get("message"):
            return f"{self.status} {error['message']}"
        return f"HTTP {self.status}"


class Pacer:
    """At most `per_minute` sends in any 60 seconds, shared by every thread.

    The service counts requests per client address in a fixed 60 s window that opens with the
    first one; keeping every sliding 60 s span under the limit keeps every such window under it
    too. per_minute 0: no pacing.
    """

    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._limit = per_minute
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()
        self.held_back = 0  # sends that had to wait for the window to move on

    def acquire(self) -> None:
        if self._limit <= 0:
            return
        held = False
        while True:
            with self._lock:
                now = self._clock()
                while self._sent and self._sent[0] <= now - 60.0:
                    self._sent.popleft()
                if len(self._sent) < self._limit:
                    self._sent.append(now)
                    return
                delay = self._sent[0] + 60.0 - now
                if not held:
                    held = True
                    self.held_back += 1
            self._sleep(delay)


class HttpClient:
    """One keep-alive connection to the service; not shared between threads."""

    def __init__(self, base_url: str, *, timeout: float = 15.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Unreachable(f"{base_url!r} is not an http(s) URL")
        self.base_url = base_url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        target = self._prefix + path + (f"?{urlencode(query)}" if query else "")
        all_headers = {"Accept": "application/json", **(headers or {})}
        if body is not None:
            all_headers.setdefault("Content-Type", "application/json")
        # The server may close an idle keep-alive connection just as we reuse it; one retry on
        # a fresh connection is safe because every request we send is idempotent (decisions
        # are read-mostly and sticky, events and payments are deduplicated by id).
        failed = "" if self._conn is not None else "cannot reach"
        while True:
            try:
                return self._send(method, target, body, all_headers)
            except (http.client.HTTPException, OSError) as exc:
                self.close()
                if failed:
                    raise Unreachable(f"{failed} {self.base_url}: {_reason(exc)}") from None
                failed = "lost"

    def send(
        self,
        method: str,
        path: str,
        *,
        pacer: Pacer | None = None,
        max_wait: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        **kwargs: Any,
    ) -> Response:
        """request() behind the pacer, waiting out 429s (Retry-After) up to max_wait seconds in
        all; the last 429 is returned when waiting longer would be needed."""
        waited = 0.0
        while True:
            if pacer is not None:
                pacer.acquire()
            response = self.request(method, path, **kwargs)
            if response.status != 429:
                return response
            try:
                retry_after = max(1.0, float(response.headers.get("retry-after", "1")))
            except ValueError:
                retry_after = 1.0
            if waited + retry_after > max_wait:
                return response
            sleep(retry_after)
            waited += retry_after

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _send(
        self, method: str, target: str, body: bytes | None, headers: dict[str, str]
    ) -> Response:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self._timeout)
        self._conn.request(method, target, body=body, headers=headers)
        raw = self._conn.getresponse()
        data = raw.read()
        response_headers = {name.lower(): value for name, value in raw.getheaders()}
        if raw.will_close:
            self.close()
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = None
        return Response(raw.status, parsed, response_headers)


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0]
