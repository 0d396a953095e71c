"""Helpers for the events and conversions tests: a running experiment and real tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson
from flask.testing import FlaskClient

from service.api.public.payment_webhook import sign
from tests.support import experiment_doc

MOBILE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"
HEADERS = {"User-Agent": MOBILE_UA, "CF-IPCountry": "US"}


def start_experiment(client: FlaskClient, headers: dict[str, str], **overrides: Any) -> None:
    key = overrides.pop("key", "monthly-ask")
    created = client.post(
        "/v1/admin/experiments", json=experiment_doc(key=key, **overrides), headers=headers
    )
    assert created.status_code == 201, created.json
    assert client.post(f"/v1/admin/experiments/{key}/start", headers=headers).status_code == 200


def banner_for(client: FlaskClient, visitor: str, **params: str) -> dict[str, Any]:
    response = client.get(
        "/v1/decision",
        query_string={"visitor": visitor, "placement": "article-end", **params},
        headers=HEADERS,
    )
    banner = response.json["banner"]
    assert banner is not None, response.json
    return banner  # type: ignore[no-any-return]


def event(token: str, type_: str = "impression", **fields: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "type": type_, "token": token, **fields}


def post_events(client: FlaskClient, events: list[dict[str, Any]], **kwargs: Any) -> Any:
    headers = {**HEADERS, **kwargs.pop("headers", {})}
    return client.post("/v1/events", json={"events": events}, headers=headers, **kwargs)


def donate(
    client: FlaskClient,
    secret: str,
    now: datetime,
    visitor: str,
    payment_id: str,
    amount: float = 5,
    **fields: Any,
) -> Any:
    """A donation through the signed payment webhook, as the payment side sends it; `fields`
    adds e.g. frequency. Asserts it was accepted and returns the response body."""
    raw = orjson.dumps(
        {"id": payment_id, "visitor": visitor, "amount": amount, "currency": "USD", **fields}
    )
    response = client.post(
        "/v1/conversions",
        data=raw,
        content_type="application/json",
        headers={"X-SmallFavor-Signature": sign(secret, int(now.timestamp()), raw)},
    )
    assert response.status_code == 200, response.json
    return response.json
