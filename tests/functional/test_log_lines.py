"""Every log line is one JSON object, whatever control or separator characters a client puts
in the path, the query string or the headers (CR, LF, ESC, NUL, DEL, NEL, U+2028, bidi
overrides, lone surrogates…)."""

from __future__ import annotations

import io
import json
import logging
import unicodedata
from collections.abc import Iterator

import pytest
from flask import Flask, request
from hypothesis import given
from hypothesis import strategies as st

from service.log_format import JsonFormatter, json_string_content

NASTY = "\r\n\x1b[31m\x00\x07\x7f\x85\u2028\u2029\u202e\ufeff\"\\'{}"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the app's JSON handler writes, captured."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def _entries(stream: io.StringIO) -> list[dict[str, object]]:
    text = stream.getvalue()
    # splitlines() breaks on every line boundary a reader might honour (U+2028, NEL, \x1c…).
    lines = text.splitlines()
    assert len(lines) == text.count("\n"), "a line broke inside an entry"
    return [json.loads(line) for line in lines]


def test_request_values_in_log_lines_stay_on_one_json_line(
    app: Flask, log_lines: io.StringIO
) -> None:
    def noisy() -> None:
        if not request.path.startswith("/test-noisy"):
            return
        logging.getLogger("service.test").warning(
            "odd request %s %s ua=%s referer=%s xff=%s",
            request.method,
            request.full_path,
            request.headers.get("User-Agent"),
            request.headers.get("Referer"),
            request.headers.get("X-Forwarded-For"),
        )

    def broken() -> str:
        raise ValueError(f"cannot handle {request.args.get('q')!s}")

    app.before_request(noisy)  # before routing: an unknown path is logged too
    app.add_url_rule("/test-broken", view_func=broken)
    client = app.test_client()
    # Headers reach WSGI as Latin-1 text: the C1 controls and NEL are what a client can send.
    header = "a\x1b[2J\x85\x9b\x7fb"
    path = "/test-noisy/x%0D%0Ay%1B%00z%E2%80%A8%C2%85%E2%80%AE%ED%A0%80"
    response = client.get(
        path + "?q=%0A%7B%22level%22%3A%22error%22%7D",
        headers={"User-Agent": header, "Referer": header, "X-Forwarded-For": header},
    )
    assert response.status_code == 404
    response = client.get("/test-broken", query_string={"q": NASTY})
    assert response.status_code == 500

    entries = _entries(log_lines)
    messages = [str(e["message"]) for e in entries]
    odd = next(m for m in messages if m.startswith("odd request"))
    assert "x\r\ny\x1b\x00z" in odd and "\u2028" in odd and "\x85" in odd  # escaped, not dropped
    failure = next(e for e in entries if "unhandled error" in str(e["message"]))
    assert NASTY in str(failure["exception"])


@given(st.text())
def test_any_text_is_one_json_line(text: str) -> None:
    record = logging.LogRecord("service.test", logging.INFO, __file__, 1, "%s", (text,), None)
    line = JsonFormatter().format(record)
    assert len(line.splitlines()) == 1
    # No control, separator or surrogate is left raw on the line.
    assert not {unicodedata.category(c) for c in line} & {"Cc", "Zl", "Zp", "Cs"}
    line.encode("utf-8")  # a lone surrogate would make the handler fail mid-line
    assert json.loads(line)["message"] == text


@given(st.text())
def test_template_values_are_escaped_for_a_json_string(text: str) -> None:
    line = '{"path":"' + json_string_content(text) + '"}'
    assert len(line.splitlines()) == 1
    assert json.loads(line) == {"path": text}
