"""What operators see: /metrics per endpoint and per pipeline stage, request ids, JSON logs."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from service.jobs.flusher import open_flusher
from service.log_format import REQUEST_ID, JsonFormatter
from service.settings import Settings
from tests.functional.events_support import banner_for, event, post_events, start_experiment
from tests.support import FakeClock

Auth = Callable[[str], dict[str, str]]


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in exposition text (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + ("{" if labels else " ")) and not line.startswith(name + "{"):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_request_latency_is_labelled_by_route_template(client: FlaskClient, auth: Auth) -> None:
    before = client.get("/metrics").get_data(as_text=True)
    client.get("/v1/decision", query_string={"visitor": "metrics-reader", "placement": "header"})
    client.get("/v1/admin/experiments/no-such-key", headers=auth("viewer"))
    client.get("/no/such/path")
    text = client.get("/metrics").get_data(as_text=True)
    name = "smallfavor_http_request_duration_seconds_count"
    for route in ("/v1/decision", "/v1/admin/experiments/<key>", "unmatched"):
        assert (
            _sample(text, name, route=route, method="GET")
            == _sample(before, name, route=route, method="GET") + 1
        ), route
    assert (
        _sample(
            text,
            "smallfavor_http_requests_total",
            route="/v1/admin/experiments/<key>",
            status="404",
        )
        >= 1
    )
    # The raw path never becomes a label: it would grow without bound.
    assert "no-such-key" not in text and "/no/such/path" not in text


def test_pipeline_metrics_from_decision_to_sql(
    client: FlaskClient, auth: Auth, settings: Settings, clock: FakeClock
) -> None:
    start_experiment(client, auth("editor"), targeting={})
    banner = banner_for(client, "metrics-reader-1")
    clock.advance(seconds=5)
    post_events(
        client,
        [
            event(banner["token"]),
            event(banner["token"], "view"),
            {"type": "nope"},
            {"type": "click"},
        ],
    )
    time.sleep(0.02)  # the lag is measured in wall-clock time since the events' XADD
    text = client.get("/metrics").get_data(as_text=True)
    assert _sample(text, "smallfavor_decisions_total", outcome="shown") >= 1
    assert _sample(text, "smallfavor_events_total", type="impression", outcome="accepted") >= 1
    assert _sample(text, "smallfavor_events_total", type="invalid", outcome="rejected") >= 1
    assert _sample(text, "smallfavor_events_total", type="click", outcome="rejected") >= 1
    assert _sample(text, "smallfavor_stream_length") == 2
    assert _sample(text, "smallfavor_flusher_lag_seconds") >= 0.02  # two events wait for SQL
    batches = _sample(text, "smallfavor_flush_batch_duration_seconds_count")
    with open_flusher(settings, 100) as flusher:
        flusher.run_once()
    text = client.get("/metrics").get_data(as_text=True)
    assert _sample(text, "smallfavor_flusher_lag_seconds") == 0
    assert _sample(text, "smallfavor_stream_pending") == 0
    assert _sample(text, "smallfavor_flush_batch_duration_seconds_count") == batches + 1
    assert _sample(text, "smallfavor_flushed_events_total", outcome="inserted") >= 2


def test_request_ids_are_echoed_or_made(client: FlaskClient) -> None:
    given = client.get("/healthz", headers={"X-Request-ID": "lb-abc.123"})
    assert given.headers["X-Request-ID"] == "lb-abc.123"
    made = client.get("/healthz", headers={"X-Request-ID": "<script>" + "x" * 100})
    assert re.fullmatch(r"[0-9a-f]{20,28}", made.headers["X-Request-ID"])
    decision = client.get("/v1/decision", query_string={"visitor": "abcdefgh", "placement": "x"})
    assert re.fullmatch(r"[0-9a-f]{20,28}", decision.headers["X-Request-ID"])


def test_log_lines_are_json_with_the_request_id() -> None:
    record = logging.LogRecord(
        "service.test", logging.WARNING, __file__, 1, "flushed %d", (3,), None
    )
    token = REQUEST_ID.set("req-42")
    try:
        line = JsonFormatter().format(record)
    finally:
        REQUEST_ID.reset(token)
    entry = json.loads(line)
    assert entry["message"] == "flushed 3"
    assert entry["level"] == "warning"
    assert entry["request_id"] == "req-42"
    assert "request_id" not in json.loads(JsonFormatter().format(record))


def test_a_request_s_log_lines_carry_its_id(app: Flask) -> None:
    seen: list[str | None] = []

    class Spy(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(REQUEST_ID.get())

    def noisy() -> str:
        logging.getLogger("service.test").warning("something to look into")
        return "ok"

    app.add_url_rule("/test-logs", view_func=noisy)
    spy = Spy(level=logging.WARNING)
    logging.getLogger().addHandler(spy)
    try:
        response = app.test_client().get("/test-logs", headers={"X-Request-ID": "trace-7"})
    finally:
        logging.getLogger().removeHandler(spy)
    assert response.headers["X-Request-ID"] == "trace-7"
    assert seen == ["trace-7"]
