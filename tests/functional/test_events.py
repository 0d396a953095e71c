"""POST /v1/events: accepted once, rejected alone, never lost."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from flask.testing import FlaskClient

from service.app import create_app
from service.settings import Settings
from service.wiring import Services
from tests.functional.events_support import (
    HEADERS,
    banner_for,
    event,
    post_events,
    start_experiment,
)
from tests.support import live_counts, stream_entries

Auth = Callable[[str], dict[str, str]]
VISITOR = "reader-000001"


@pytest.fixture
def token(client: FlaskClient, auth: Auth) -> str:
    start_experiment(client, auth("editor"), caps={"max_impressions": 2, "per_days": 30})
    return banner_for(client, VISITOR)["token"]  # type: ignore[no-any-return]


def stream(services: Services) -> list[dict[str, str]]:
    return [fields for _, fields in stream_entries(services.redis, services.keys)]


def test_a_batch_is_accepted_with_identity_from_the_token(
    client: FlaskClient, services: Services, token: str
) -> None:
    batch = [event(token, "impression"), event(token, "view"), event(token, "click")]
    response = post_events(client, batch)
    assert response.status_code == 202
    assert response.json == {
        "accepted": 3,
        "duplicates": 0,
        "pending": 0,
        "rejected": [],
        "dropped": {"qa": 0, "bot": 0},
    }
    entries = stream(services)
    assert [e["t"] for e in entries] == ["impression", "view", "click"]
    assert {e["u"] for e in entries} == {VISITOR}
    assert {e["e"] for e in entries} == {"monthly-ask"}
    assert [e["id"] for e in entries] == [e["id"] for e in batch]
    assert entries[0]["cy"] == "US" and entries[0]["d"] == "mobile"
    day = services.clock().strftime("%Y-%m-%d")
    live = live_counts(services.redis, services.keys, "monthly-ask", day)
    variant = entries[0]["v"]
    assert live[f"{variant}:impression"] == "1" and live[f"{variant}:click"] == "1"


def test_send_beacon_text_plain_is_accepted(client: FlaskClient, token: str) -> None:
    body = orjson.dumps({"events": [event(token)]})
    response = client.post(
        "/v1/events", data=body, content_type="text/plain;charset=UTF-8", headers=HEADERS
    )
    assert response.status_code == 202
    assert response.json["accepted"] == 1


def test_a_retried_event_is_a_duplicate_never_counted_twice(
    client: FlaskClient, services: Services, token: str
) -> None:
    impression = event(token)
    assert post_events(client, [impression]).json["accepted"] == 1
    again = post_events(client, [impression, event(token, "view")])
    assert again.json["accepted"] == 1 and again.json["duplicates"] == 1
    assert len(stream(services)) == 2


def test_a_bad_event_is_rejected_alone(client: FlaskClient, services: Services, token: str) -> None:
    batch = [
        event(token),
        {"id": "x", "type": "wave", "token": token},
        event(token, "dismiss"),  # no reason
        event(token, "view", ts="yesterday"),
        event(token, "click"),
    ]
    response = post_events(client, batch)
    assert response.status_code == 202
    assert response.json["accepted"] == 2
    rejected = {r["index"]: r["error"]["fields"] for r in response.json["rejected"]}
    assert set(rejected) == {1, 2, 3}
    assert {"id", "type"} <= set(rejected[1])
    assert "reason" in rejected[2]
    assert "ts" in rejected[3]
    assert [e["t"] for e in stream(services)] == ["impression", "click"]


def test_forged_and_expired_tokens_are_refused(
    client: FlaskClient, services: Services, token: str, clock: Any
) -> None:
    forged = token.replace("control", "five-dollars").replace("five-dollars", "control", 0)
    forged = forged[:-3] + ("AAA" if not forged.endswith("AAA") else "BBB")
    response = post_events(client, [event(forged)])
    assert response.json["rejected"][0]["error"]["code"] == "invalid_token"
    clock.advance(hours=25)
    expired = post_events(client, [event(token)])
    assert "expired" in expired.json["rejected"][0]["error"]["message"]
    assert stream(services) == []


def test_qa_events_never_reach_results(client: FlaskClient, services: Services, token: str) -> None:
    qa = banner_for(client, "qa-reader-01", force="monthly-ask:control")["token"]
    response = post_events(client, [event(qa), event(qa, "click")])
    assert response.json["accepted"] == 0
    assert response.json["dropped"]["qa"] == 2
    assert stream(services) == []


def test_bots_are_dropped_and_counted(client: FlaskClient, services: Services, token: str) -> None:
    bot = {"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}
    response = post_events(client, [event(token), event(token)], headers=bot)
    assert response.status_code == 202
    assert response.json["dropped"]["bot"] == 2
    assert stream(services) == []


def test_remind_me_later_snoozes_the_placement(client: FlaskClient, token: str, clock: Any) -> None:
    post_events(client, [event(token), event(token, "dismiss", reason="remind_later")])
    query = {"visitor": VISITOR, "placement": "article-end"}
    assert (
        client.get("/v1/decision", query_string=query, headers=HEADERS).json["reason"] == "snoozed"
    )
    clock.advance(hours=169)  # remind_later snoozes for 168 hours
    assert client.get("/v1/decision", query_string=query, headers=HEADERS).json["reason"] is None


def test_impressions_count_toward_the_cap(client: FlaskClient, token: str) -> None:
    query = {"visitor": VISITOR, "placement": "article-end"}
    post_events(client, [event(token)])
    assert client.get("/v1/decision", query_string=query, headers=HEADERS).json["reason"] is None
    post_events(client, [event(token)])  # max_impressions is 2
    assert (
        client.get("/v1/decision", query_string=query, headers=HEADERS).json["reason"] == "capped"
    )


def test_client_conversions_are_kept_but_not_counted_unless_trusted(
    client: FlaskClient, services: Services, token: str
) -> None:
    conversion = event(token, "conversion", amount=5, currency="EUR", frequency="monthly")
    response = post_events(client, [conversion])
    assert response.json["accepted"] == 1
    entry = stream(services)[0]
    assert entry["nc"] == "1"
    assert entry["am"] == "500" and entry["cu"] == "EUR"
    assert float(entry["rv"]) == pytest.approx(5.4)  # converted into USD at 1.08
    assert float(entry["an"]) == pytest.approx(64.8)  # monthly: x12


def test_unknown_currency_is_rejected_naming_it(client: FlaskClient, token: str) -> None:
    response = post_events(client, [event(token, "conversion", amount=5, currency="XYZ")])
    assert response.json["rejected"][0]["error"]["fields"] == {"currency": "unknown currency 'XYZ'"}


@pytest.mark.parametrize(
    "body,status,field",
    [
        (b"{not json", 400, None),
        (b'{"events": []}', 400, "events"),
        (b'{"events": {}}', 400, "events"),
        (b"[]", 400, "events"),
    ],
)
def test_malformed_envelopes_are_400(
    client: FlaskClient, body: bytes, status: int, field: str | None
) -> None:
    response = client.post("/v1/events", data=body, content_type="application/json")
    assert response.status_code == status
    if field:
        assert field in response.json["error"]["fields"]


def test_more_than_fifty_events_is_400(client: FlaskClient, token: str) -> None:
    response = post_events(client, [event(token) for _ in range(51)])
    assert response.status_code == 400
    assert "events" in response.json["error"]["fields"]


def test_oversize_batch_is_413(client: FlaskClient, token: str) -> None:
    response = post_events(client, [event(token, ts="x" * 2000) for _ in range(40)])
    assert response.status_code == 413


def test_other_content_types_are_415(client: FlaskClient) -> None:
    response = client.post(
        "/v1/events", data="events=1", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415


def test_cors_preflight_for_events(client: FlaskClient) -> None:
    response = client.options("/v1/events", headers={"Origin": "https://news.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


def test_rate_limit_per_client(env: dict[str, str], clean_db: Any, token: str, clock: Any) -> None:
    app = create_app(Settings.from_env({**env, "RATE_LIMIT_PER_MINUTE": "3"}), clock=clock)
    client = app.test_client()
    statuses = [post_events(client, [event(token, "view")]).status_code for _ in range(2)]
    garbage = client.post("/v1/events", json={"events": [{"id": "bad"}]}, headers=HEADERS)
    limited = post_events(client, [event(token, "view")])
    assert [*statuses, garbage.status_code] == [202, 202, 202]
    assert limited.status_code == 429
    assert limited.json["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60


def test_redis_away_events_go_straight_to_sql(
    env: dict[str, str], clean_db: Any, client: FlaskClient, token: str, clock: Any
) -> None:
    from sqlalchemy import func, select

    from service.store.sql.event_tables import events

    settings = Settings.from_env({**env, "REDIS_URL": "redis://127.0.0.1:1/0"})
    down = create_app(settings, clock=clock).test_client()
    batch = [event(token), event(token, "click")]
    response = post_events(down, batch)
    assert response.status_code == 202
    assert (response.json["accepted"], response.json["pending"]) == (0, 2)
    again = post_events(down, batch)
    assert again.json == {
        "accepted": 0,
        "duplicates": 2,
        "pending": 0,
        "rejected": [],
        "dropped": {"qa": 0, "bot": 0},
    }
    with clean_db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar() == 2


def test_redis_and_sql_away_is_503_with_retry_after(
    env: dict[str, str], clean_db: Any, client: FlaskClient, token: str, clock: Any
) -> None:
    broken = {
        **env,
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
    }
    app = create_app(Settings.from_env(broken), clock=clock)
    app.extensions["smallfavor"].experiment_cache._snapshot = (  # the token's experiment
        client.application.extensions["smallfavor"].experiment_cache.snapshot()
    )
    response = post_events(app.test_client(), [event(token)])
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"


def test_behind_a_proxy_the_forwarded_client_is_limited(
    env: dict[str, str], clean_db: Any, token: str, clock: Any
) -> None:
    settings = Settings.from_env({**env, "RATE_LIMIT_PER_MINUTE": "1", "TRUSTED_PROXY_HOPS": "1"})
    client = create_app(settings, clock=clock).test_client()

    def from_client(address: str) -> int:
        headers = {"X-Forwarded-For": address}
        return int(post_events(client, [event(token, "view")], headers=headers).status_code)

    assert [from_client("198.51.100.7"), from_client("198.51.100.7")] == [202, 429]
    assert from_client("203.0.113.9") == 202  # another reader behind the same proxy
