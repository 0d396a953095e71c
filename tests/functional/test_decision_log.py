"""Decisions sampled from the real endpoint, flushed into decision_log, and the "Why no banner"
dashboard page that reads them."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import redis as redis_lib
from flask import Flask
from flask.testing import FlaskClient
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import select

from service.jobs.flusher import Flusher
from service.store.redis.decision_sampler import DecisionSampler
from service.store.redis.event_streams import PartitionedStreams
from service.store.sql.decision_log_repo import DecisionLogRepo
from service.store.sql.event_tables import decision_log
from service.store.sql.event_writer import EventWriter
from service.usecases.decide import Decider
from service.web import DECIDER
from service.wiring import Services
from tests.functional.dashboard_support import log_in, make_user
from tests.functional.events_support import HEADERS, MOBILE_UA
from tests.support import FakeClock, experiment_doc, stream_length

Auth = Callable[[str], dict[str, str]]


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "DECISION_LOG_SAMPLE_RATE": "1"}


def flush_decisions(app: Flask, clock: FakeClock) -> None:
    """Send what the sampler queued, then drain the stream into SQL (retention against the
    test clock's day)."""
    decider: Decider = app.extensions[DECIDER]
    assert decider.decision_log is not None and decider.decision_log.flush()
    svc: Services = app.extensions["smallfavor"]
    Flusher(
        PartitionedStreams(svc.redis, svc.keys, "test-flusher"),
        EventWriter(svc.engine),
        decision_log=DecisionLogRepo(svc.engine),
        today=lambda: clock().date(),
    ).run_once()


def decide(client: FlaskClient, visitor: str, **params: str) -> dict[str, Any]:
    headers = {**HEADERS, "CF-IPCountry": params.pop("country", "US")}
    response = client.get(
        "/v1/decision",
        query_string={"visitor": visitor, "placement": "article-end", **params},
        headers=headers,
    )
    assert response.status_code == 200, response.json
    return response.json  # type: ignore[no-any-return]


def start(client: FlaskClient, auth: Auth, key: str = "monthly-ask", **overrides: Any) -> None:
    created = client.post(
        "/v1/admin/experiments", json=experiment_doc(key=key, **overrides), headers=auth("editor")
    )
    assert created.status_code == 201, created.json
    assert (
        client.post(f"/v1/admin/experiments/{key}/start", headers=auth("editor")).status_code == 200
    )


def logged(services: Services) -> list[dict[str, Any]]:
    with services.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(decision_log)).mappings()]


def _traffic(client: FlaskClient) -> None:
    for i in range(3):
        assert decide(client, f"reader-us-{i:04d}")["banner"] is not None
    for i in range(2):
        assert decide(client, f"reader-fr-{i:04d}", country="FR")["reason"] == "not_targeted"
    assert decide(client, "reader-header-1", placement="header")["reason"] == "no_experiment"
    qa = decide(client, "reader-qa-0001", force="monthly-ask:control")
    assert qa["banner"]["qa"] is True


def test_decisions_are_logged_with_their_outcome_and_page(
    app: Flask, client: FlaskClient, auth: Auth, services: Services, clock: FakeClock
) -> None:
    start(client, auth)
    _traffic(client)
    flush_decisions(app, clock)

    rows = logged(services)
    assert Counter((r["placement"], r["outcome"]) for r in rows) == {
        ("article-end", "shown"): 3,
        ("article-end", "not_targeted"): 2,
        ("header", "no_experiment"): 1,
    }  # the forced (QA) decision is not among them
    shown = [r for r in rows if r["outcome"] == "shown"]
    assert {(r["experiment_key"], r["country"], r["device"]) for r in shown} == {
        ("monthly-ask", "US", "mobile")
    }
    assert {r["day"] for r in rows} == {clock().date()}
    assert {r["sample_rate"] for r in rows} == {1.0}


def _row(page: str, attribute: str, value: str) -> list[str]:
    match = re.search(rf'<tr {attribute}="{value}">(.*?)</tr>', page, re.S)
    assert match, f"no row {value}"
    cells = re.findall(r"<td[^>]*>(.*?)</td>", match.group(1), re.S)
    return [re.sub(r"<[^>]+>", " ", cell).split()[0] for cell in cells]


def test_the_why_no_banner_page_estimates_counts_and_shares(
    app: Flask, client: FlaskClient, auth: Auth, services: Services, clock: FakeClock
) -> None:
    start(client, auth)
    _traffic(client)
    flush_decisions(app, clock)
    assert log_in(client, make_user(services, "viewer")).status_code == 302

    page = client.get("/dashboard/decisions").get_data(as_text=True)
    assert 'href="/dashboard/decisions"' in page  # in the navigation
    # Over the range: all placements, then article-end, then header (estimate, share).
    assert _row(page, "data-outcome", "shown") == ["3", "50.0", "3", "60.0", "0", "0.0"]
    assert _row(page, "data-outcome", "not_targeted") == ["2", "33.3", "2", "40.0", "0", "0.0"]
    assert _row(page, "data-outcome", "no_experiment") == ["1", "16.7", "0", "0.0", "1", "100.0"]
    today = clock().date().isoformat()
    assert _row(page, "data-day", today)[:3] == ["6", "50.0", "16.7"]  # total, shown, no_exp.
    yesterday = clock().date().replace(day=27).isoformat()
    assert _row(page, "data-day", yesterday)[0] == "—"
    assert page.count("<tr data-day=") == 14  # the default range

    only_header = client.get("/dashboard/decisions?placement=header").get_data(as_text=True)
    assert _row(only_header, "data-outcome", "no_experiment")[:2] == ["1", "100.0"]
    assert _row(only_header, "data-outcome", "shown")[:2] == ["0", "0.0"]


def test_the_page_checks_its_range_and_says_when_there_is_nothing(
    client: FlaskClient, services: Services, clock: FakeClock
) -> None:
    assert client.get("/dashboard/decisions").status_code == 302  # to the login page
    assert log_in(client, make_user(services, "viewer")).status_code == 302
    page = client.get("/dashboard/decisions?from=2026-11-01&to=2026-11-03").get_data(as_text=True)
    assert page.count("<tr data-day=") == 0
    assert 'id="no-decisions"' in page and "from 2026-11-01 to 2026-11-03" in page
    bad = client.get("/dashboard/decisions?from=yesterday&to=2026-11-20&placement=sidebar")
    text = bad.get_data(as_text=True)
    assert bad.status_code == 200
    assert "&#39;from&#39; is not a date" in text and "Unknown placement" in text
    assert 'value="2026-11-07"' in text  # 14 days back from To
    backwards = client.get("/dashboard/decisions?from=2026-11-20&to=2026-11-10")
    assert "The range is empty" in backwards.get_data(as_text=True)


def test_a_failing_sampler_never_changes_the_answer(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    start(client, auth)
    decider: Decider = app.extensions[DECIDER]
    decider.decision_log = None
    plain = decide(client, "reader-same-0001")
    down = redis_lib.Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0))
    keys = app.extensions["smallfavor"].keys
    decider.decision_log = DecisionSampler(down, keys, 1.0, linger_s=60)
    assert decide(client, "reader-same-0001") == plain
    assert decider.decision_log.flush() is False  # Redis refused it; the answer was not touched
    assert decider.decision_log.pending() == 1
    decider.decision_log._client = app.extensions["smallfavor"].redis  # Redis is back
    assert decider.decision_log.flush() and decider.decision_log.pending() == 0


def test_sampling_off_logs_nothing(
    env: dict[str, str], clean_db: Any, redis_client: redis_lib.Redis, clock: FakeClock
) -> None:
    from service.app import create_app
    from service.settings import Settings

    app = create_app(Settings.from_env({**env, "DECISION_LOG_SAMPLE_RATE": "0"}), clock=clock)
    try:
        assert app.extensions[DECIDER].decision_log is None
        client = app.test_client()
        response = client.get(
            "/v1/decision",
            query_string={"visitor": "reader-off-0001", "placement": "header"},
            headers={"User-Agent": MOBILE_UA},
        )
        assert response.json == {"banner": None, "reason": "no_experiment"}
        assert stream_length(redis_client, app.extensions["smallfavor"].keys) == 0
    finally:
        app.extensions["smallfavor"].close()


def test_the_sample_rate_and_retention_settings_are_checked(env: dict[str, str]) -> None:
    from service.settings import Settings, SettingsError

    base = {k: v for k, v in env.items() if not k.startswith("DECISION_LOG")}
    defaults = Settings.from_env(base)
    assert (defaults.decision_log_sample_rate, defaults.decision_log_retention_days) == (0.01, 30)
    chosen = {**base, "DECISION_LOG_SAMPLE_RATE": "0.2", "DECISION_LOG_RETENTION_DAYS": "7"}
    settings = Settings.from_env(chosen)
    assert (settings.decision_log_sample_rate, settings.decision_log_retention_days) == (0.2, 7)
    for bad in ("1.5", "-0.1", "nan", "often"):
        with pytest.raises(SettingsError, match="DECISION_LOG_SAMPLE_RATE"):
            Settings.from_env({**base, "DECISION_LOG_SAMPLE_RATE": bad})
    with pytest.raises(SettingsError, match="DECISION_LOG_RETENTION_DAYS"):
        Settings.from_env({**base, "DECISION_LOG_RETENTION_DAYS": "0"})
