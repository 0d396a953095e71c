"""A QA session (opened with a preview link) in a headless browser: its events work the
ledger, so "remind me later" holds, but never count in results; without the mark a bot's
events are still dropped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from service.wiring import Services
from tests.functional.events_support import banner_for, event, start_experiment
from tests.support import live_counts

Auth = Callable[[str], dict[str, str]]
VISITOR = "qa-headless-01"
HEADLESS = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/124.0.0.0 Safari/537.36",
    "CF-IPCountry": "US",
}


@pytest.fixture
def token(client: FlaskClient, auth: Auth) -> str:
    start_experiment(client, auth("editor"))
    return banner_for(client, VISITOR)["token"]  # type: ignore[no-any-return]


def post(client: FlaskClient, events: list[dict[str, Any]], qa: str | None = None) -> Any:
    body: dict[str, Any] = {"events": events}
    if qa is not None:
        body["qa"] = qa
    return client.post("/v1/events", json=body, headers=HEADLESS)


def decision_reason(client: FlaskClient) -> str | None:
    query = {"visitor": VISITOR, "placement": "article-end"}
    return client.get("/v1/decision", query_string=query, headers=HEADLESS).json["reason"]  # type: ignore[no-any-return]


def preview(services: Services, hours: int = 24) -> str:
    expires = int(services.clock().timestamp()) + hours * 3600
    return services.signer.preview("monthly-ask", "control", expires)


def test_a_qa_session_snoozes_but_is_not_counted(
    client: FlaskClient, services: Services, token: str
) -> None:
    batch = [event(token), event(token, "dismiss", reason="remind_later")]
    response = post(client, batch, qa=preview(services))
    assert response.status_code == 202
    assert response.json["accepted"] == 2 and response.json["dropped"]["bot"] == 0
    assert decision_reason(client) == "snoozed"
    day = services.clock().strftime("%Y-%m-%d")
    assert live_counts(services.redis, services.keys, "monthly-ask", day) == {}


def test_without_a_valid_mark_a_headless_browser_is_a_bot(
    client: FlaskClient, services: Services, token: str, clock: Any
) -> None:
    dismiss = [event(token, "dismiss", reason="remind_later")]
    assert post(client, dismiss).json["dropped"]["bot"] == 1
    assert post(client, dismiss, qa="p.forged.mark.zz.abc").json["dropped"]["bot"] == 1
    expired = preview(services, hours=1)
    clock.advance(hours=2)
    assert post(client, dismiss, qa=expired).json["dropped"]["bot"] == 1
    assert decision_reason(client) is None
