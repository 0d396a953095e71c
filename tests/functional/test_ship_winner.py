"""Shipping a winner through the admin API and the dashboard: the test ends, every eligible
reader gets the shipped variant (whatever they were assigned), the ship is audited and an
unship undoes it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from service.wiring import Services
from tests.functional.dashboard_support import log_in, make_user, post_form
from tests.functional.events_support import banner_for, event, post_events
from tests.functional.test_conversions import pay, payment
from tests.support import experiment_doc

Auth = Callable[[str], dict[str, str]]
URL = "/v1/admin/experiments"
EXPERIMENT = f"{URL}/monthly-ask"
MOBILE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"
READERS = [f"reader-{i:06d}" for i in range(40)]


@pytest.fixture
def running(client: FlaskClient, auth: Auth) -> None:
    assert client.post(URL, json=experiment_doc(), headers=auth("editor")).status_code == 201
    assert client.post(f"{EXPERIMENT}/start", headers=auth("editor")).status_code == 200


def variant_for(client: FlaskClient, visitor: str) -> Any:
    response = client.get(
        "/v1/decision",
        query_string={"visitor": visitor, "placement": "article-end"},
        headers={"User-Agent": MOBILE_UA, "CF-IPCountry": "US"},
    )
    assert response.status_code == 200
    body = response.json
    assert body is not None
    return body["banner"]["variant"] if body["banner"] else body["reason"]


def test_readers_assigned_to_control_get_the_shipped_winner(
    client: FlaskClient, auth: Auth, running: None
) -> None:
    before = {visitor: variant_for(client, visitor) for visitor in READERS}
    on_control = [v for v, seen in before.items() if seen == "control"]
    assert on_control  # a 50/50 split of 40 readers puts some on control

    shipped = client.post(
        f"{EXPERIMENT}/ship", json={"variant": "five-dollars"}, headers=auth("editor")
    )
    assert shipped.status_code == 200, shipped.json
    assert shipped.json["status"] == "shipped"
    assert shipped.json["shipped"] == {
        "variant": "five-dollars",
        "holdout": 0.0,
        "previous_status": "running",
    }
    assert {variant_for(client, v) for v in READERS} == {"five-dollars"}

    unshipped = client.post(f"{EXPERIMENT}/unship", headers=auth("editor"))
    assert unshipped.status_code == 200, unshipped.json
    assert unshipped.json["status"] == "running"
    assert "shipped" not in unshipped.json
    # Sticky assignments were never overwritten: the test resumes where it was.
    assert {v: variant_for(client, v) for v in READERS} == before

    history = client.get(f"{EXPERIMENT}/history", headers=auth("viewer")).json["revisions"]
    newest_first = [(r["action"], r["document"]["status"]) for r in history]
    assert newest_first[:3] == [("unship", "running"), ("ship", "shipped"), ("start", "running")]
    assert history[1]["document"]["shipped"]["variant"] == "five-dollars"


def test_a_shipped_holdout_sees_no_banner(client: FlaskClient, auth: Auth, running: None) -> None:
    shipped = client.post(
        f"{EXPERIMENT}/ship", json={"variant": "control", "holdout": 0.5}, headers=auth("editor")
    )
    assert shipped.status_code == 200, shipped.json
    seen = [variant_for(client, v) for v in READERS]
    assert set(seen) == {"control", "holdout"}


@pytest.mark.parametrize(
    "body,field",
    [
        ({"variant": "ten-dollars"}, "variant"),
        ({}, "variant"),
        ({"variant": "control", "holdout": 0.51}, "holdout"),
        ({"variant": "control", "holdout": -0.1}, "holdout"),
        ({"variant": "control", "holdout": "5%"}, "holdout"),
    ],
)
def test_bad_ship_requests_name_the_field(
    client: FlaskClient, auth: Auth, running: None, body: dict[str, Any], field: str
) -> None:
    response = client.post(f"{EXPERIMENT}/ship", json=body, headers=auth("editor"))
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]
    assert client.get(EXPERIMENT, headers=auth("viewer")).json["status"] == "running"


def test_every_bad_field_of_a_ship_request_is_named_at_once(
    client: FlaskClient, auth: Auth, running: None
) -> None:
    body = {"variant": 7, "holdout": True, "reason": "it won"}
    response = client.post(f"{EXPERIMENT}/ship", json=body, headers=auth("editor"))
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {
        "variant": "required: the key of the variant to ship",
        "holdout": "must be a number from 0 to 0.5",
        "reason": "unknown field",
    }
    missing = client.post(f"{EXPERIMENT}/ship", json={"holdout": "0.05"}, headers=auth("editor"))
    assert missing.json["error"]["fields"] == {
        "variant": "required: the key of the variant to ship",
        "holdout": "must be a number from 0 to 0.5",
    }
    assert client.get(EXPERIMENT, headers=auth("viewer")).json["status"] == "running"


def test_a_draft_cannot_be_shipped_nor_a_running_test_unshipped(
    client: FlaskClient, auth: Auth
) -> None:
    assert client.post(URL, json=experiment_doc(), headers=auth("editor")).status_code == 201
    draft = client.post(f"{EXPERIMENT}/ship", json={"variant": "control"}, headers=auth("editor"))
    assert draft.status_code == 409
    assert draft.json["error"]["code"] == "transition_not_allowed"
    assert client.post(f"{EXPERIMENT}/start", headers=auth("editor")).status_code == 200
    assert client.post(f"{EXPERIMENT}/unship", headers=auth("editor")).status_code == 409


def test_viewers_cannot_ship(client: FlaskClient, auth: Auth, running: None) -> None:
    response = client.post(
        f"{EXPERIMENT}/ship", json={"variant": "control"}, headers=auth("viewer")
    )
    assert response.status_code == 403


def test_a_shipped_experiment_cannot_be_edited(
    client: FlaskClient, auth: Auth, running: None
) -> None:
    client.post(f"{EXPERIMENT}/ship", json={"variant": "control"}, headers=auth("editor"))
    document = client.get(EXPERIMENT, headers=auth("viewer")).json
    document["name"] = "renamed"
    response = client.put(EXPERIMENT, json=document, headers=auth("editor"))
    assert response.status_code == 409


def test_ship_and_unship_from_the_results_page(
    client: FlaskClient, auth: Auth, services: Services, running: None
) -> None:
    assert log_in(client, make_user(services, "editor")).status_code == 302
    page = "/dashboard/experiments/monthly-ask"
    html = client.get(page).get_data(as_text=True)
    assert "Ship this variant" in html
    revision = services.experiments.get("monthly-ask").revision  # type: ignore[union-attr]

    # Without the CSRF token nothing happens.
    forged = client.post(f"{page}/ship", data={"variant": "five-dollars", "revision": revision})
    assert forged.status_code == 400
    assert services.experiments.get("monthly-ask").experiment.status == "running"  # type: ignore[union-attr]

    refused = post_form(
        client,
        f"{page}/ship",
        {"variant": "five-dollars", "holdout_percent": "80", "revision": revision},
        page=page,
    )
    assert refused.status_code == 302
    assert "holdout must be between 0 and 0.5" in client.get(page).get_data(as_text=True)

    done = post_form(
        client,
        f"{page}/ship",
        {"variant": "five-dollars", "holdout_percent": "5", "revision": revision},
        page=page,
    )
    assert done.status_code == 302
    shipped = services.experiments.get("monthly-ask")
    assert shipped is not None and shipped.experiment.shipped is not None
    assert shipped.experiment.shipped.holdout == pytest.approx(0.05)
    html = client.get(page).get_data(as_text=True)
    assert 'id="shipped-note"' in html
    assert "Unship five-dollars" in html
    assert "Verdict" in html  # the results stay on the page

    undone = post_form(client, f"{page}/unship", {"revision": shipped.revision}, page=page)
    assert undone.status_code == 302
    assert services.experiments.get("monthly-ask").experiment.status == "running"  # type: ignore[union-attr]


def test_a_donation_after_the_ship_is_credited_to_the_shipped_variant(
    client: FlaskClient, auth: Auth, services: Services, running: None
) -> None:
    before = {visitor: variant_for(client, visitor) for visitor in READERS}
    on_control = next(v for v, seen in before.items() if seen == "control")
    client.post(f"{EXPERIMENT}/ship", json={"variant": "five-dollars"}, headers=auth("editor"))
    # A reader the test had on control, and one who first came after the ship.
    for n, visitor in enumerate((on_control, "reader-new-after-ship")):
        banner = banner_for(client, visitor)
        assert banner["variant"] == "five-dollars"
        assert post_events(client, [event(banner["token"])]).json["accepted"] == 1
        paid = pay(client, services, payment(id=f"pay_{n}", visitor=visitor))
        assert paid.status_code == 200, paid.json
        assert paid.json["credited"] == [{"experiment": "monthly-ask", "variant": "five-dollars"}]
