"""POST /v1/admin/experiments/<key>/dry-run and the editor's dry-run panel, on sampled
decisions written straight into decision_log."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jsonschema
from flask.testing import FlaskClient

from service.domain.decision_log import LoggedDecision
from service.domain.experiment import Device, Placement
from service.store.sql.decision_log_repo import insert_decisions
from service.wiring import Services
from tests.functional.dashboard_support import csrf, form_fields, log_in, make_user
from tests.functional.test_decision_log import start
from tests.functional.test_report_api import outcome
from tests.support import FakeClock, experiment_doc, insert_outcomes

Auth = Callable[[str], dict[str, str]]
URL = "/v1/admin/experiments/candidate/dry-run"
CONVERSION = {"primary_metric": "conversion_rate"}


def seed(services: Services, clock: FakeClock, groups: list[tuple[int, dict[str, Any]]]) -> None:
    """groups: (how many, fields) of sampled decisions, spread over the last six days."""
    now = clock()
    decisions = []
    for g, (count, given) in enumerate(groups):
        fields = dict(given)
        ago = fields.pop("ago", None)
        for i in range(count):
            at = now - (ago or timedelta(hours=1 + i % 144))
            values: dict[str, Any] = {
                "entry_id": f"seed-{g}-{i:06d}",
                "decided_ms": int(at.timestamp() * 1000),
                "placement": Placement.article_end,
                "outcome": "not_targeted",
                "sample_rate": 0.1,
                "device": Device.mobile,
            }
            decisions.append(LoggedDecision(**{**values, **fields}))
    with services.engine.begin() as conn:
        insert_decisions(conn, decisions)


def draft(client: FlaskClient, auth: Auth, **overrides: Any) -> None:
    overrides.setdefault("analysis", CONVERSION)
    doc = experiment_doc(key="candidate", **overrides)
    assert client.post("/v1/admin/experiments", json=doc, headers=auth("editor")).status_code == 201


def test_it_needs_an_editor_token_and_an_experiment(client: FlaskClient, auth: Auth) -> None:
    draft(client, auth)
    assert client.post(URL).status_code == 401
    assert client.post(URL, headers=auth("viewer")).status_code == 403
    missing = client.post("/v1/admin/experiments/nope/dry-run", headers=auth("editor"))
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"


def test_bad_requests_name_their_fields(client: FlaskClient, auth: Auth) -> None:
    draft(client, auth)
    editor = auth("editor")
    bad = client.post(
        URL, json={"minimum_effect": -1, "days": 400, "colour": "red", "baseline_sd": 2}
    )
    assert bad.status_code == 401  # authentication comes first
    bad = client.post(
        URL,
        json={"minimum_effect": -1, "days": 400, "colour": "red", "baseline_sd": 2},
        headers=editor,
    )
    assert bad.status_code == 422
    assert set(bad.json["error"]["fields"]) == {"minimum_effect", "days", "colour", "baseline_sd"}
    plain = client.post(URL, data="days=7", headers={**editor, "Content-Type": "text/plain"})
    assert plain.status_code == 415
    broken = client.post(URL, data="{", headers={**editor, "Content-Type": "application/json"})
    assert broken.status_code == 400
    listed = client.post(URL, json=[1], headers=editor)
    assert listed.status_code == 422


def test_the_estimate_from_sampled_decisions(
    client: FlaskClient, auth: Auth, services: Services, clock: FakeClock
) -> None:
    start(client, auth, "us-first", priority=20, targeting={"countries": ["US"]}, traffic=0.5)
    draft(client, auth, priority=10, targeting={"countries": ["US"]}, traffic=0.5)
    seed(
        services,
        clock,
        [
            (210, {"country": "US"}),  # 30 % of 700 samples, each standing for 10 decisions
            (490, {"country": "GB"}),
            (50, {"country": "US", "ago": timedelta(days=8)}),  # before the window
            (50, {"country": "US", "placement": Placement.header}),  # another placement
        ],
    )
    asked = {"baseline": 0.05, "minimum_effect": 1.0}
    response = client.post(URL, json=asked, headers=auth("editor"))
    assert response.status_code == 200, response.json
    body = response.json
    assert body["samples"] == 700
    assert body["estimated_daily_decisions"] == 1000.0
    assert (body["targeted_share"], body["qualifying_share"]) == (0.3, 0.15)
    assert body["qualifying_daily_visitors"] == 150.0
    assert body["overlap"]["higher_priority_share"] == 0.5
    assert (body["overlap"]["taken_first_share"], body["overlap"]["equal_priority_share"]) == (
        0.5,
        0.0,
    )
    assert body["overlap"]["experiments"] == [
        {
            "experiment": "us-first",
            "priority": 20,
            "higher_priority": True,
            "takes_first": True,
            "share": 0.5,
        }
    ]
    assert body["exposed_daily_visitors"] == 75.0
    assert body["power"]["visitors_per_arm"] == 432
    assert body["days_to_detect"] == math.ceil(2 * 431.69 / 75)
    assert body["reason"] is None and len(body["assumptions"]) >= 5

    schema = client.get("/openapi.json").json["paths"]["/v1/admin/experiments/{key}/dry-run"]
    answer = schema["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    jsonschema.Draft202012Validator(answer).validate(body)


def test_an_empty_body_uses_the_defaults_and_no_samples_says_why(
    client: FlaskClient, auth: Auth
) -> None:
    draft(client, auth)
    body = client.post(URL, headers=auth("editor")).json
    assert body["window"]["days"] == 7
    assert (body["samples"], body["qualifying_share"], body["days_to_detect"]) == (0, None, None)
    assert body["reason"] == "no decisions on article-end were sampled in the last 7 days"
    assert body["power"]["baseline"] == {
        "value": 0.01,
        "sd": None,
        "source": "default",
        "history_visitors": 0,
    }
    assert body["power"]["minimum_effect"] == 0.1


def _editor_page(client: FlaskClient, services: Services) -> str:
    assert log_in(client, make_user(services, "editor")).status_code == 302
    page = client.get("/dashboard/experiments/candidate/edit")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_the_panel_is_offered_on_drafts_only(
    client: FlaskClient, auth: Auth, services: Services
) -> None:
    draft(client, auth)
    page = _editor_page(client, services)
    assert 'id="dry-run"' in page
    assert 'formaction="/dashboard/experiments/candidate/dry-run#dry-run"' in page
    started = client.post("/v1/admin/experiments/candidate/start", headers=auth("editor"))
    assert started.status_code == 200
    running = client.get("/dashboard/experiments/candidate/edit").get_data(as_text=True)
    assert 'id="dry-run"' not in running


def test_the_panel_estimates_the_form_as_edited_and_keeps_the_edits(
    client: FlaskClient, auth: Auth, services: Services, clock: FakeClock
) -> None:
    draft(client, auth, targeting={"countries": ["US"]})
    seed(services, clock, [(300, {"country": "US"}), (700, {"country": "GB"})])
    page = _editor_page(client, services)
    fields = form_fields(page)
    fields.update(
        {
            "targeting.countries": "us, gb",  # not saved
            "dry_run.minimum_effect": "1",
            "dry_run.baseline": "0.05",
            "dry_run.days": "7",
            "csrf_token": csrf(client.get("/dashboard/experiments/candidate/edit")),
        }
    )
    answer = client.post("/dashboard/experiments/candidate/dry-run", data=fields)
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert '<td class="num" id="dry-run-share">100.0 %</td>' in html  # US and GB qualify
    # 10,000 decisions over 7 days, all exposed: 2 x 431.7 visitors take 1 day.
    assert '<strong id="dry-run-days">1</strong>' in html
    assert form_fields(html)["targeting.countries"].lower().replace(" ", "") == "us,gb"
    stored = services.experiments.get("candidate")
    assert stored is not None and stored.experiment.targeting.countries == ("US",)

    fields["dry_run.minimum_effect"] = "lots"
    wrong = client.post("/dashboard/experiments/candidate/dry-run", data=fields)
    text = wrong.get_data(as_text=True)
    assert wrong.status_code == 200 and "must be a number" in text
    assert 'id="dry-run-result"' not in text
    fields["dry_run.minimum_effect"] = "0.1"
    fields["dry_run.baseline"] = "2"  # a rate of 200 %
    rejected = client.post("/dashboard/experiments/candidate/dry-run", data=fields)
    assert "must be a number from 1e-06 and below 1" in rejected.get_data(as_text=True)


def test_a_shipped_holdout_is_no_baseline_of_a_banner(
    client: FlaskClient, auth: Auth, services: Services, clock: FakeClock
) -> None:
    # The placement's history: 1,000 readers shown a banner, 100 of whom gave, and 1,000
    # held out of a shipped experiment (shown nothing, variant ~holdout), none of whom did.
    start(client, auth, "monthly-ask")
    draft(client, auth)
    shown = [
        outcome(n, "five-dollars", 1, conversions=int(n < 100), revenue=10.0 * (n < 100))
        for n in range(1000)
    ]
    held_out = [outcome(n, "~holdout", 1, impressions=1, views=0) for n in range(1000)]
    for row in shown + held_out:  # within the history's window, whatever the clock's date
        row["first_exposure_at"] = row["first_seen_at"] = row["last_event_at"] = clock() - (
            timedelta(days=3)
        )
    with services.engine.begin() as conn:
        insert_outcomes(conn, shown + held_out)
    body = client.post(URL, json={}, headers=auth("editor")).json
    assert body["power"]["baseline"] == {
        "value": 0.1,
        "sd": None,
        "source": "history",
        "history_visitors": 1000,
    }
