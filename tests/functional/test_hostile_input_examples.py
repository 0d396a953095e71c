"""The inputs an outside attack run turned into 500s (issue 15), one test each: every one is now
a 4xx naming the field, and loses nothing else sent with it."""

# Other scripts' digits are the point here.
# ruff: noqa: RUF001

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.api.public.payment_webhook import SIGNATURE_HEADER, sign
from service.app import create_app
from service.settings import Settings
from service.usecases import record_events
from service.wiring import Services
from tests.functional.events_support import (
    HEADERS,
    banner_for,
    event,
    post_events,
    start_experiment,
)
from tests.support import experiment_doc

Auth = Callable[[str], dict[str, str]]
KEY = "monthly-ask"
VISITOR = "reader-000001"
EXTREME_TIMES = (
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+05:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
)


@pytest.fixture
def token(client: FlaskClient, auth: Auth) -> str:
    start_experiment(client, auth("editor"), targeting={})
    return str(banner_for(client, VISITOR)["token"])


def fields_of(response: Any) -> dict[str, str]:
    return response.get_json()["error"]["fields"]  # type: ignore[no-any-return]


def rejected_fields(response: Any) -> dict[int, set[str]]:
    assert response.status_code == 202, response.get_data()
    return {r["index"]: set(r["error"]["fields"]) for r in response.get_json()["rejected"]}


def pay(client: FlaskClient, services: Services, raw: bytes) -> Any:
    now = int(services.clock().timestamp())
    return client.post(
        "/v1/conversions",
        data=raw,
        content_type="application/json",
        headers={SIGNATURE_HEADER: sign(services.settings.webhook_secret, now, raw)},
    )


def payment(**fields: Any) -> bytes:
    body = {"id": "pay_0001", "visitor": VISITOR, "amount": 10.0, "currency": "USD", **fields}
    return orjson.dumps(body)


# Decision tokens and signatures: hmac.compare_digest raises TypeError on non-ASCII str.


@pytest.mark.parametrize("mac", ["é" * 16, "\u2603" + "a" * 15, "ａ" * 16])
def test_a_non_ascii_decision_token_is_rejected_alone(
    client: FlaskClient, token: str, mac: str
) -> None:
    forged = token.rsplit(".", 1)[0] + "." + mac
    response = post_events(client, [event(forged), event(token, "view")])
    assert rejected_fields(response) == {0: {"token"}}
    assert response.get_json()["accepted"] == 1


def test_a_non_ascii_preview_token_is_a_400(client: FlaskClient, token: str) -> None:
    response = client.get(
        "/v1/decision",
        query_string={"visitor": VISITOR, "placement": "article-end", "preview": "p.a.b.c.é"},
        headers=HEADERS,
    )
    assert response.status_code == 400
    assert "preview" in fields_of(response)


def test_a_payment_with_a_non_ascii_token_is_a_422(
    client: FlaskClient, services: Services, token: str
) -> None:
    forged = token.rsplit(".", 1)[0] + ".éééééééééééééééé"
    response = pay(client, services, payment(visitor=None, token=forged))
    assert response.status_code == 422
    assert "token" in fields_of(response)


@pytest.mark.parametrize("mac", ["é" * 64, "١" * 64])
def test_a_non_ascii_webhook_signature_is_a_401(
    client: FlaskClient, services: Services, mac: str
) -> None:
    now = int(services.clock().timestamp())
    response = client.post(
        "/v1/conversions",
        data=payment(),
        content_type="application/json",
        headers={SIGNATURE_HEADER: f"t={now},v1={mac}"},
    )
    assert response.status_code == 401
    assert SIGNATURE_HEADER in fields_of(response)


# Times with extreme offsets or years: converting them to UTC overflows.


@pytest.mark.parametrize("ts", EXTREME_TIMES)
def test_an_event_time_past_the_calendar_is_rejected_alone(
    client: FlaskClient, token: str, ts: str
) -> None:
    response = post_events(client, [event(token, ts=ts), event(token, "view")])
    assert rejected_fields(response) == {0: {"ts"}}
    assert response.get_json()["accepted"] == 1


@pytest.mark.parametrize("ts", EXTREME_TIMES)
def test_a_payment_time_past_the_calendar_is_a_422(
    client: FlaskClient, services: Services, ts: str
) -> None:
    response = pay(client, services, payment(ts=ts))
    assert response.status_code == 422
    assert set(fields_of(response)) == {"ts"}


@pytest.mark.parametrize("field", ["start_at", "end_at"])
@pytest.mark.parametrize("ts", EXTREME_TIMES[:2])
def test_an_experiment_time_past_the_calendar_is_a_422(
    client: FlaskClient, auth: Auth, field: str, ts: str
) -> None:
    doc = experiment_doc(**{field: ts})
    response = client.post("/v1/admin/experiments", json=doc, headers=auth("editor"))
    assert response.status_code == 422
    assert set(fields_of(response)) == {field}


# Report dates at the ends of the calendar: the day after 9999-12-31 does not exist.


@pytest.mark.parametrize(
    "query",
    ["to=9999-12-31", "from=0001-01-01&to=9999-12-31", "to=9999-12-31&segment=country"],
)
@pytest.mark.parametrize("suffix", ["", ".csv"])
def test_reports_through_the_last_day_of_the_calendar(
    client: FlaskClient, auth: Auth, token: str, query: str, suffix: str
) -> None:
    assert post_events(client, [event(token)]).get_json()["accepted"] == 1
    response = client.get(
        f"/v1/admin/experiments/{KEY}/report{suffix}?{query}", headers=auth("viewer")
    )
    assert response.status_code == 200, response.get_data()[:300]


@pytest.mark.parametrize("value", ["١٢٣٤-٠١-٠١", "２０２６-01-01"])
def test_report_dates_in_other_scripts_digits_are_a_400(
    client: FlaskClient, auth: Auth, token: str, value: str
) -> None:
    response = client.get(
        f"/v1/admin/experiments/{KEY}/report", query_string={"to": value}, headers=auth("viewer")
    )
    assert response.status_code == 400
    assert set(fields_of(response)) == {"to"}


# Digits str.isdigit() accepts: int() refuses "²" and reads "١٢٣".


@pytest.mark.parametrize("views", ["²", "١٢٣", "𝟙𝟚", "1_0", " 12", "+5"])
def test_article_views_take_ascii_digits_only(client: FlaskClient, token: str, views: str) -> None:
    response = client.get(
        "/v1/decision",
        query_string={"visitor": VISITOR, "placement": "article-end", "article_views": views},
        headers=HEADERS,
    )
    assert response.status_code == 400
    assert set(fields_of(response)) == {"article_views"}


@pytest.mark.parametrize(
    "etag",
    ['"r' + "9" * 5000 + '"', '"r99999999999999999999"', '"r١"'],
    ids=["5000-digits", "20-digits", "arabic-digit"],
)
def test_an_if_match_past_any_revision_is_a_400(
    client: FlaskClient, auth: Auth, token: str, etag: str
) -> None:
    response = client.put(
        f"/v1/admin/experiments/{KEY}",
        json=experiment_doc(),
        headers={**auth("editor"), "If-Match": etag},
    )
    assert response.status_code == 400
    assert set(fields_of(response)) == {"If-Match"}


# Money past the BIGINT column, and numbers no column or encoder takes.


@pytest.mark.parametrize(
    "amount",
    [b"100000000000000000000", b"92233720368547758.07", b"1e300", b"-1", b"0", b"1e-400"],
)
def test_payment_amounts_out_of_range_are_a_422(
    client: FlaskClient, services: Services, amount: bytes
) -> None:
    raw = payment().replace(b"10.0", amount)
    response = pay(client, services, raw)
    assert response.status_code == 422, response.get_data()
    assert set(fields_of(response)) == {"amount"}


@pytest.mark.parametrize(
    "amount",
    [b"NaN", b"Infinity", b"1e400", b"9" * 5000],
    ids=["nan", "inf", "1e400", "5000-digits"],
)
def test_payment_amounts_no_json_number_can_hold_are_a_400(
    client: FlaskClient, services: Services, amount: bytes
) -> None:
    response = pay(client, services, payment().replace(b"10.0", amount))
    assert response.status_code == 400
    assert fields_of(response)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("priority", 1e20),
        ("priority", 2**70),
        ("attribution_days", 7.5),
        ("caps", {"max_impressions": 2**70}),
        ("targeting", {"min_article_views": 2**70}),
    ],
)
def test_experiment_numbers_past_json_or_sql_are_a_422(
    client: FlaskClient, auth: Auth, field: str, value: Any
) -> None:
    raw = json.dumps(experiment_doc(**{field: value}))
    response = client.post(
        "/v1/admin/experiments", data=raw, content_type="application/json", headers=auth("editor")
    )
    assert response.status_code == 422, response.get_data()
    assert any(name.startswith(field) for name in fields_of(response))


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (f"/v1/admin/experiments/{KEY}/preview-token", {"ttl_hours": 24.5}),
        (f"/v1/admin/experiments/{KEY}/preview-token", {"ttl_hours": 2**70}),
        (f"/v1/admin/experiments/{KEY}/dry-run", {"days": 7.5}),
        (f"/v1/admin/experiments/{KEY}/dry-run", {"days": 2**70}),
    ],
)
def test_floats_and_huge_numbers_for_whole_numbers_are_a_422(
    client: FlaskClient, auth: Auth, token: str, path: str, body: dict[str, Any]
) -> None:
    response = client.post(
        path, data=json.dumps(body), content_type="application/json", headers=auth("editor")
    )
    assert response.status_code == 422, response.get_data()
    assert set(fields_of(response)) == set(body)


def test_nan_in_an_admin_body_is_a_400(client: FlaskClient, auth: Auth) -> None:
    raw = orjson.dumps(experiment_doc()).replace(b'"priority":10', b'"priority":NaN')
    response = client.post(
        "/v1/admin/experiments", data=raw, content_type="application/json", headers=auth("editor")
    )
    assert response.status_code == 400
    assert fields_of(response)


def test_a_query_string_that_is_not_utf8_is_a_400(client: FlaskClient, auth: Auth) -> None:
    response = client.get(
        "/v1/admin/experiments",
        environ_overrides={"QUERY_STRING": "status=\x80\xff"},
        headers=auth("viewer"),
    )
    assert response.status_code == 400
    assert set(fields_of(response)) == {"query"}


# The events rate limit counts every request, before anything that can fail.


@pytest.fixture
def limited(env: dict[str, str], clean_db: Any, clock: Any, token: str) -> Flask:
    app = create_app(Settings.from_env({**env, "RATE_LIMIT_PER_MINUTE": "3"}), clock=clock)
    app.config["token"] = token
    return app


def test_malformed_batches_count_toward_the_rate_limit(limited: Flask) -> None:
    client = limited.test_client()
    statuses = [
        client.post("/v1/events", data=b"{not json", content_type="application/json").status_code,
        client.post("/v1/events", json={"events": []}).status_code,
        client.post("/v1/events", data=b"x", content_type="image/png").status_code,
        client.post("/v1/events", data=b"{not json", content_type="application/json").status_code,
    ]
    assert statuses == [400, 400, 415, 429]


def test_a_fault_in_one_event_keeps_the_batch_and_the_rate_limit(
    limited: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = record_events._accept

    def faulty(parsed: Any, ctx: Any) -> Any:
        if parsed.type == "click":
            raise RuntimeError("a bug in handling clicks")
        return real(parsed, ctx)

    monkeypatch.setattr(record_events, "_accept", faulty)
    client = limited.test_client()
    token = limited.config["token"]
    answers = [post_events(client, [event(token, "click"), event(token, "view")]) for _ in range(4)]
    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    first = answers[0].get_json()
    assert first["accepted"] == 1
    assert rejected_fields(answers[0]) == {0: {"$"}}
