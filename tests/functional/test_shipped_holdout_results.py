"""A shipped winner's long-term holdout measured as a group of its own: readers held out since
the ship are counted as exposed to the holdout by their decision, their donations (the signed
payment webhook) are credited to it, and the report's "since shipping" part compares the
shipped variant's readers with them, through the real endpoints and the flusher."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest
import redis as redis_lib
from flask import Flask
from flask.testing import FlaskClient

from service.domain.bucketing import bucket
from service.domain.report_model import report_json_schema
from service.wiring import Services
from tests.functional.dashboard_support import log_in, make_user
from tests.functional.events_support import event, post_events
from tests.functional.test_conversions import pay, payment
from tests.functional.test_events_redis_fallback import flush
from tests.functional.test_ship_winner import EXPERIMENT, MOBILE_UA, URL
from tests.support import FakeClock, experiment_doc

Auth = Callable[[str], dict[str, str]]
HOLDOUT = "~holdout"


def decide(client: FlaskClient, visitor: str) -> dict[str, Any]:
    response = client.get(
        "/v1/decision",
        query_string={"visitor": visitor, "placement": "article-end", "article_views": "3"},
        headers={"User-Agent": MOBILE_UA, "CF-IPCountry": "US"},
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json  # type: ignore[assignment]
    return body


def report(client: FlaskClient, auth: Auth) -> dict[str, Any]:
    response = client.get(f"{EXPERIMENT}/report", headers=auth("viewer"))
    assert response.status_code == 200, response.json
    body: dict[str, Any] = response.json  # type: ignore[assignment]
    return body


def arms(part: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["key"]: row for row in part["variants"]}


@pytest.fixture
def shipped(client: FlaskClient, auth: Auth, clock: FakeClock) -> list[str]:
    """monthly-ask ran with test readers, then five-dollars shipped with a 50 % holdout.
    Returns the test readers, each of whom saw a banner during the test."""
    assert client.post(URL, json=experiment_doc(), headers=auth("editor")).status_code == 201
    assert client.post(f"{EXPERIMENT}/start", headers=auth("editor")).status_code == 200
    test_readers = [f"test-reader-{i:04d}" for i in range(20)]
    for visitor in test_readers:
        banner = decide(client, visitor)["banner"]
        assert post_events(client, [event(banner["token"])]).json["accepted"] == 1
    clock.advance(minutes=20)
    body = {"variant": "five-dollars", "holdout": 0.5}
    assert client.post(f"{EXPERIMENT}/ship", json=body, headers=auth("editor")).status_code == 200
    clock.advance(hours=1)  # past the first whole hour after the ship
    return test_readers


def test_held_out_readers_donations_count_in_the_holdout_not_the_shipped_variant(
    app: Flask,
    client: FlaskClient,
    auth: Auth,
    services: Services,
    clock: FakeClock,
    shipped: list[str],
) -> None:
    held_out, shown = [], []
    for i in range(60):
        visitor = f"new-reader-{i:04d}"
        answer = decide(client, visitor)
        if answer["banner"] is None:
            assert answer["reason"] == "holdout"
            held_out.append(visitor)
        else:
            assert answer["banner"]["variant"] == "five-dollars"
            impression = event(answer["banner"]["token"])
            assert post_events(client, [impression]).json["accepted"] == 1
            shown.append(visitor)
    assert len(held_out) >= 10 and len(shown) >= 10
    decide(client, held_out[0])  # coming back counts once

    clock.advance(days=2)  # within attribution_days
    donors_held_out, donors_shown = held_out[:7], shown[:4]
    for n, visitor in enumerate(donors_held_out + donors_shown):
        paid = pay(client, services, payment(id=f"pay_new_{n}", visitor=visitor, amount=10.0))
        assert paid.status_code == 200, paid.json
        variant = HOLDOUT if visitor in donors_held_out else "five-dollars"
        assert paid.json["credited"] == [{"experiment": "monthly-ask", "variant": variant}]
    # A test reader held out since the ship is not a holdout reader: the test reached them.
    test_reader_held_out = next(v for v in shipped if decide(client, v)["reason"] == "holdout")
    paid = pay(client, services, payment(id="pay_test_reader", visitor=test_reader_held_out))
    assert paid.json["credited"] == []
    flush(app)

    body = report(client, auth)
    # /openapi.json's Report describes the part as served.
    jsonschema.validate(body, report_json_schema(), cls=jsonschema.Draft202012Validator)
    since = body["since_shipping"]
    assert since["variant"] == "five-dollars" and since["holdout"] == 0.5
    assert since["since"].endswith(":00:00Z")
    holdout, winner = since["variants"]
    assert holdout["key"] == HOLDOUT and winner["key"] == "five-dollars"
    assert (holdout["visitors"], holdout["conversions"]) == (len(held_out), 7)
    assert holdout["revenue"] == pytest.approx(70.0)
    assert (winner["visitors"], winner["conversions"]) == (len(shown), 4)
    assert winner["revenue"] == pytest.approx(40.0)
    rpv = winner["metrics"]["revenue_per_visitor"]
    assert rpv["value"] == pytest.approx(40.0 / len(shown))
    assert holdout["metrics"]["revenue_per_visitor"]["vs_control"] is None
    assert rpv["vs_control"]["relative_lift"] == pytest.approx(
        (40.0 / len(shown)) / (70.0 / len(held_out)) - 1
    )
    assert "ci" in rpv["vs_control"] and len(since["verdicts"]) == 1

    # The test's arms are as they were: held-out readers are in none of them.
    test = arms(body)
    assert set(test) == {"control", "five-dollars"}
    assert sum(row["visitors"] for row in test.values()) == len(shipped) + len(shown)
    assert test["five-dollars"]["revenue"] == pytest.approx(40.0)
    assert test["control"]["conversions"] + test["five-dollars"]["conversions"] == 4

    csv = client.get(f"{EXPERIMENT}/report.csv", headers=auth("viewer"))
    text = csv.get_data(as_text=True)
    assert csv.status_code == 200
    assert log_in(client, make_user(services, "viewer")).status_code == 302
    page = html.unescape(client.get("/dashboard/experiments/monthly-ask").get_data(as_text=True))
    part = page[
        page.index('id="since-shipping"') : page.index(
            "</section>", page.index('id="since-shipping"')
        )
    ]
    assert "Since shipping: five-dollars against the holdout" in part
    figures = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", part))
    assert f"Exposed visitors {len(held_out)} {len(shown)}" in figures
    assert "Converting visitors 7 4" in figures
    assert "revenue per visitor (primary)" in figures and "close rate" not in figures.lower()
    # The same rule as the test's comparisons: no lift on the page until both groups have
    # MIN_DONORS_PER_ARM donors.
    assert "not enough data yet: 4 of 30 donors" in figures

    at = since["since"]
    assert f"\r\nmonthly-ask,since_shipping,{at},{HOLDOUT},0.5,{len(held_out)}," in text
    assert f"\r\nmonthly-ask,since_shipping,{at},five-dollars,0.5,{len(shown)}," in text


def test_no_since_shipping_part_without_a_holdout(
    client: FlaskClient, auth: Auth, services: Services
) -> None:
    assert client.post(URL, json=experiment_doc(), headers=auth("editor")).status_code == 201
    assert client.post(f"{EXPERIMENT}/start", headers=auth("editor")).status_code == 200
    body = {"variant": "five-dollars"}
    assert client.post(f"{EXPERIMENT}/ship", json=body, headers=auth("editor")).status_code == 200
    assert "since_shipping" not in report(client, auth)
    assert log_in(client, make_user(services, "viewer")).status_code == 302
    page = client.get("/dashboard/experiments/monthly-ask").get_data(as_text=True)
    assert 'id="shipped-note"' in page and 'id="since-shipping"' not in page


def test_a_failed_count_leaves_the_answer_and_the_next_visit_counts(
    app: Flask,
    client: FlaskClient,
    auth: Auth,
    services: Services,
    shipped: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    held_out = next(
        v for v in (f"late-reader-{i:04d}" for i in range(100)) if _held_out(services, v)
    )
    record = services.event_ingest.record

    def redis_away(*args: Any, **kwargs: Any) -> Any:
        raise redis_lib.ConnectionError("Redis is away")

    monkeypatch.setattr(services.event_ingest, "record", redis_away)
    assert decide(client, held_out) == {"banner": None, "reason": "holdout"}
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'smallfavor_redis_failures_total{path="holdout_exposure"} 1.0' in metrics
    monkeypatch.setattr(services.event_ingest, "record", record)
    assert decide(client, held_out) == {"banner": None, "reason": "holdout"}
    flush(app)
    holdout = report(client, auth)["since_shipping"]["variants"][0]
    assert (holdout["key"], holdout["visitors"]) == (HOLDOUT, 1)


def _held_out(services: Services, visitor: str) -> bool:
    experiment = services.experiments.get("monthly-ask")
    assert experiment is not None
    return bucket(experiment.experiment, visitor).assignment == HOLDOUT
