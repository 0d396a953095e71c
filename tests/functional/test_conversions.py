"""POST /v1/conversions: signed, idempotent, credited by attribution window, marks supporters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from flask.testing import FlaskClient

from service.api.public.payment_webhook import sign
from service.wiring import Services
from tests.functional.events_support import (
    HEADERS,
    banner_for,
    event,
    post_events,
    start_experiment,
)
from tests.support import stream_entries

Auth = Callable[[str], dict[str, str]]
VISITOR = "reader-000001"


@pytest.fixture
def seen(client: FlaskClient, auth: Auth) -> dict[str, Any]:
    """The visitor saw the banner (an impression) in an experiment for non-supporters."""
    start_experiment(client, auth("editor"), targeting={"audience": "non_supporters"})
    banner = banner_for(client, VISITOR)
    assert post_events(client, [event(banner["token"])]).json["accepted"] == 1
    return banner


def pay(
    client: FlaskClient,
    services: Services,
    body: dict[str, Any],
    *,
    secret: str | None = None,
    at: int | None = None,
) -> Any:
    raw = orjson.dumps(body)
    timestamp = at if at is not None else int(services.clock().timestamp())
    signature = sign(secret or services.settings.webhook_secret, timestamp, raw)
    return client.post(
        "/v1/conversions",
        data=raw,
        content_type="application/json",
        headers={"X-SmallFavor-Signature": signature},
    )


def payment(**overrides: Any) -> dict[str, Any]:
    return {
        "id": "pay_0001",
        "visitor": VISITOR,
        "amount": 10.0,
        "currency": "USD",
        "frequency": "monthly",
        **overrides,
    }


def conversions(services: Services) -> list[dict[str, str]]:
    entries = stream_entries(services.redis, services.keys)
    return [fields for _, fields in entries if fields["t"] == "conversion"]


def test_a_donation_is_credited_and_marks_a_supporter(
    client: FlaskClient, services: Services, seen: dict[str, Any]
) -> None:
    response = pay(client, services, payment())
    assert response.status_code == 200, response.json
    assert response.json == {
        "payment": "pay_0001",
        "duplicate": False,
        "credited": [{"experiment": "monthly-ask", "variant": seen["variant"]}],
        "status": "applied",
    }
    [entry] = conversions(services)
    assert entry["id"] == "pay_0001:monthly-ask".replace("pay_0001", "pay:pay_0001")
    assert (entry["s"], entry["am"], entry["f"], entry["p"]) == (
        "webhook",
        "1000",
        "monthly",
        "pay_0001",
    )
    assert float(entry["rv"]) == 10.0 and float(entry["an"]) == 120.0
    # A verified supporter is no longer asked by a non_supporters experiment.
    query = {"visitor": VISITOR, "placement": "article-end"}
    assert (
        client.get("/v1/decision", query_string=query, headers=HEADERS).json["reason"]
        == "supporter"
    )


def test_a_replayed_payment_changes_nothing(
    client: FlaskClient, services: Services, seen: Any
) -> None:
    assert pay(client, services, payment()).json["duplicate"] is False
    again = pay(client, services, payment())
    assert again.status_code == 200
    assert again.json["duplicate"] is True
    assert len(conversions(services)) == 1


def test_other_currencies_are_converted_for_the_report(
    client: FlaskClient, services: Services, seen: Any
) -> None:
    pay(client, services, payment(amount=10, currency="EUR", frequency="one_off"))
    [entry] = conversions(services)
    assert entry["am"] == "1000" and entry["cu"] == "EUR"
    assert float(entry["rv"]) == pytest.approx(10.8)


def test_only_impressions_inside_the_attribution_window_are_credited(
    client: FlaskClient, services: Services, seen: Any, clock: Any
) -> None:
    clock.advance(days=8)  # attribution_days is 7
    response = pay(client, services, payment())
    assert response.json["credited"] == []
    assert conversions(services) == []
    assert services.redis.hget(services.keys.ledger(VISITOR), "sup") is not None


def test_the_decision_token_may_name_the_visitor(
    client: FlaskClient, services: Services, seen: dict[str, Any]
) -> None:
    body = payment()
    del body["visitor"]
    body["token"] = seen["token"]
    assert pay(client, services, body).json["credited"][0]["experiment"] == "monthly-ask"


@pytest.mark.parametrize(
    "change",
    [
        {"secret": "another-secret-" + "z" * 40},
        {"at_offset": -301},
        {"at_offset": 400},
    ],
)
def test_bad_or_stale_signatures_are_401(
    client: FlaskClient, services: Services, change: dict
) -> None:
    at = int(services.clock().timestamp()) + change.get("at_offset", 0)
    response = pay(client, services, payment(), secret=change.get("secret"), at=at)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_a_tampered_body_is_401(client: FlaskClient, services: Services) -> None:
    raw = orjson.dumps(payment())
    signature = sign(services.settings.webhook_secret, int(services.clock().timestamp()), raw)
    tampered = raw.replace(b"10.0", b"99.0")
    response = client.post(
        "/v1/conversions",
        data=tampered,
        content_type="application/json",
        headers={"X-SmallFavor-Signature": signature},
    )
    assert response.status_code == 401


def test_missing_signature_is_401(client: FlaskClient) -> None:
    assert client.post("/v1/conversions", json=payment()).status_code == 401


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"currency": "XYZ"}, "currency"),
        ({"amount": -5}, "amount"),
        ({"amount": 10.001}, "amount"),
        ({"visitor": None}, "visitor"),
        ({"id": ""}, "id"),
        ({"frequency": "weekly"}, "frequency"),
        ({"ts": "tomorrow"}, "ts"),
        ({"extra": 1}, "extra"),
    ],
)
def test_invalid_payments_are_422_naming_the_field(
    client: FlaskClient, services: Services, overrides: dict, field: str
) -> None:
    body = {k: v for k, v in payment(**overrides).items() if v is not None}
    response = pay(client, services, body)
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]


def test_the_longest_payment_id_and_key_still_fit_the_events_table(
    client: FlaskClient, services: Services, auth: Callable[[str], dict[str, str]]
) -> None:
    """SQLite ignores VARCHAR lengths; PostgreSQL refuses the row, and the flusher with it."""
    from service.store.sql.event_tables import events

    key = "k" * 40
    start_experiment(client, auth("editor"), key=key, targeting={})
    banner = banner_for(client, VISITOR)
    assert post_events(client, [event(banner["token"])]).json["accepted"] == 1
    payment_id = "p" * 100
    response = pay(client, services, payment(id=payment_id))
    assert response.json["credited"] == [{"experiment": key, "variant": banner["variant"]}]
    [entry] = conversions(services)
    assert len(entry["id"]) <= events.c.event_id.type.length
    assert entry["id"].endswith(f":{key}") and entry["p"] == payment_id
    # The same payment again is the same event, so it is never counted twice.
    assert pay(client, services, payment(id=payment_id)).json["duplicate"] is True


def test_without_redis_a_payment_is_503_and_a_retry_credits_it(
    env: dict[str, str], client: FlaskClient, services: Services, seen: dict[str, Any], clock: Any
) -> None:
    from service.app import create_app
    from service.settings import Settings

    # The same database, but no Redis: the credits need the visitor's ledger.
    settings = Settings.from_env({**env, "REDIS_URL": "redis://127.0.0.1:1/0"})
    down = create_app(settings, clock=clock).test_client()
    refused = pay(down, services, payment())
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "30"
    assert refused.json["error"]["code"] == "unavailable"
    # The payment row was rolled back, so the provider's retry is credited, once.
    retried = pay(client, services, payment())
    assert retried.json["duplicate"] is False
    assert retried.json["credited"] == [
        {"experiment": seen["experiment"], "variant": seen["variant"]}
    ]
