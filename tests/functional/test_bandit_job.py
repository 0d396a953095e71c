"""The bandit job against the real stores, the decision endpoint, the admin API and the
dashboard: weights move by audited revisions, new readers follow them, assigned readers stay."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from service.domain.bucketing import bucket
from service.jobs.bandit import BanditJob
from service.settings import Settings
from service.wiring import Services
from tests.functional.dashboard_support import form_fields, log_in, make_user, post_form
from tests.functional.events_support import banner_for, start_experiment
from tests.integration.export_support import scheduler
from tests.support import FakeClock, banner, insert_outcomes

Auth = Callable[[str], dict[str, str]]
KEY = "bandit-ask"
TWO_ARMS = [
    {"key": "control", "weight": 50, "banner": banner()},
    {"key": "treatment", "weight": 50, "banner": banner(monthly=[5, 10, 20])},
]


def start_bandit(client: FlaskClient, auth: Auth, **overrides: Any) -> None:
    start_experiment(
        client,
        auth("editor"),
        key=KEY,
        allocation="bandit",
        analysis={"primary_metric": "conversion_rate"},
        targeting={},
        variants=TWO_ARMS,
        **overrides,
    )


def expose(
    engine: Engine,
    variant: str,
    visitors: int,
    converters: int,
    at: datetime,
    tag: str = "",
    closers: int = 0,
) -> None:
    """Exposed visitors as the flusher would have written them; the last `closers` of them
    closed the banner once."""
    rows = [
        {
            "experiment_key": KEY,
            "visitor": f"{tag}{variant}-{i:05d}",
            "variant_key": variant,
            "first_seen_at": at,
            "first_exposure_at": at,
            "last_event_at": at,
            "impressions": 1,
            "conversions": 1 if i < converters else 0,
            "revenue": 5.0 if i < converters else 0.0,
            "dismiss_close": 1 if i >= visitors - closers else 0,
        }
        for i in range(visitors)
    ]
    with engine.begin() as conn:
        insert_outcomes(conn, rows)


def job(services: Services) -> BanditJob:
    return BanditJob(services.engine, services.announce_config_change, draws=4000)


def test_weights_move_by_revision_and_assigned_readers_keep_their_variant(
    client: FlaskClient, auth: Auth, services: Services, clock: FakeClock
) -> None:
    start_bandit(client, auth)
    early = {f"early-{i:03d}": banner_for(client, f"early-{i:03d}")["variant"] for i in range(60)}
    bandit = job(services)
    assert bandit.run_due(clock()) == []  # started this very slot: only the start is recorded
    [start] = bandit.history.history(KEY)
    assert start.weights == {"control": 50, "treatment": 50}
    assert start.effective_at == clock() and start.reason == "weights when the experiment started"

    expose(services.engine, "control", 1000, 20, clock() + timedelta(minutes=30))
    expose(services.engine, "treatment", 1000, 60, clock() + timedelta(minutes=30))
    clock.advance(hours=1)
    [outcome] = bandit.run_due(clock())
    assert outcome.applied and outcome.weights["treatment"] == pytest.approx(90.0, abs=0.1)
    assert sum(outcome.weights.values()) == pytest.approx(100.0)

    history = client.get(f"/v1/admin/experiments/{KEY}/history", headers=auth("viewer")).json
    latest = history["revisions"][0]
    assert (latest["action"], latest["actor"]) == ("bandit", "bandit")
    assert {c["path"] for c in latest["changes"]} == {"variants[0].weight", "variants[1].weight"}
    rows = bandit.history.history(KEY)
    assert [r.effective_at for r in rows] == [start.effective_at, clock()]
    assert rows[1].details["revision"] == outcome.revision
    treatment = rows[1].details["arms"]["treatment"]
    assert (treatment["visitors"], treatment["conversions"]) == (1000, 60)
    assert treatment["p_best"] > 0.99
    clock.advance(minutes=20)
    assert bandit.run_due(clock()) == []  # one evaluation per slot

    current = services.experiments.get(KEY)
    assert current is not None
    would_move = [v for v, got in early.items() if bucket(current.experiment, v).assignment != got]
    assert would_move, "the new weights re-bucket some early readers; the ledger must hold them"
    for visitor, variant in early.items():
        assert banner_for(client, visitor)["variant"] == variant
    fresh = [banner_for(client, f"newcomer-{i:03d}")["variant"] for i in range(200)]
    assert fresh.count("treatment") >= 160  # 90 % of new readers, give or take


def test_while_exploring_the_split_stays_even_and_no_revision_is_made(
    client: FlaskClient, auth: Auth, services: Services, clock: FakeClock
) -> None:
    start_bandit(client, auth)
    expose(services.engine, "control", 1000, 20, clock())
    expose(services.engine, "treatment", 90, 9, clock())
    clock.advance(hours=1)
    [outcome] = job(services).run_due(clock())
    assert not outcome.applied
    assert "treatment has 90 and 9" in outcome.reason
    stored = services.experiments.get(KEY)
    assert stored is not None and stored.revision == 2  # create, start
    rows = job(services).history.history(KEY)
    assert len(rows) == 2 and rows[1].reason.startswith("exploring")


def test_two_schedulers_racing_for_a_slot_apply_it_once(
    client: FlaskClient, auth: Auth, services: Services, clock: FakeClock
) -> None:
    start_bandit(client, auth)
    expose(services.engine, "control", 800, 20, clock())
    expose(services.engine, "treatment", 800, 50, clock())
    clock.advance(hours=1)
    first, second = job(services), job(services)
    first.run_due(clock() - timedelta(hours=1))  # both have seen the start
    # Both read revision 2 before either writes: the conditional UPDATE lets one through.
    stale = services.experiments.get(KEY)
    assert stale is not None
    winner = first._run_one(stale, clock())
    loser = second._run_one(stale, clock())
    assert winner is not None and winner.applied and loser is None
    later = clock() + timedelta(minutes=1)
    assert first.run_due(later) == [] and second.run_due(later) == []
    revisions = services.experiments.history(KEY)
    assert revisions is not None and [r.action for r in revisions].count("bandit") == 1
    assert len(first.history.history(KEY)) == 2


def test_an_editors_weights_enter_the_history_at_their_revision(
    client: FlaskClient, auth: Auth, services: Services, clock: FakeClock
) -> None:
    start_bandit(client, auth)
    bandit = job(services)
    bandit.run_due(clock())
    clock.advance(minutes=20)
    doc = client.get(f"/v1/admin/experiments/{KEY}", headers=auth("viewer")).json
    doc["variants"][0]["weight"] = 80
    edited = client.put(f"/v1/admin/experiments/{KEY}", json=doc, headers=auth("editor"))
    assert edited.status_code == 200, edited.json
    edited_at = clock()
    clock.advance(minutes=5)
    assert bandit.run_due(clock()) == []  # not yet due: the slot began at the start
    rows = bandit.history.history(KEY)
    assert [r.effective_at for r in rows][1] == edited_at
    assert rows[1].weights == {"control": 80.0, "treatment": 50.0}
    assert rows[1].reason == "weights set by token:test-editor (revision 3)"


def test_report_and_results_page_show_the_weight_history(
    client: FlaskClient, auth: Auth, services: Services, clock: FakeClock
) -> None:
    start_bandit(client, auth)
    bandit = job(services)
    bandit.run_due(clock())
    first, second = clock() + timedelta(minutes=10), clock() + timedelta(minutes=70)
    expose(services.engine, "control", 1000, 20, first, "a-", closers=100)
    expose(services.engine, "treatment", 1000, 40, first, "a-", closers=200)
    clock.advance(hours=1)
    bandit.run_due(clock())
    expose(services.engine, "control", 100, 1, second, "b-", closers=30)
    expose(services.engine, "treatment", 900, 18, second, "b-", closers=90)
    report = client.get(f"/v1/admin/experiments/{KEY}/report", headers=auth("viewer")).json
    assert report["allocation"] == "bandit"
    assert report["estimator"] == "stratified by weight period"
    shares = [h["shares"] for h in report["weight_history"]]
    assert shares[0] == {"control": 0.5, "treatment": 0.5}
    assert shares[1]["treatment"] == pytest.approx(0.9, abs=0.005)
    assert report["srm"]["mismatch"] is False  # 1,100 vs 1,900 is what the periods called for
    arms = {v["key"]: v for v in report["variants"]}
    # Per period: control 2 % and 1 %, treatment 4 % and 2 %; weighted 2000/3000 : 1000/3000.
    assert arms["control"]["metrics"]["conversion_rate"]["value"] == pytest.approx(
        (2 * 0.02 + 0.01) / 3
    )
    assert arms["treatment"]["metrics"]["conversion_rate"]["value"] == pytest.approx(
        (2 * 0.04 + 0.02) / 3
    )
    assert arms["treatment"]["metrics"]["conversion_rate"]["vs_control"]["relative_lift"] == (
        pytest.approx(1.0)
    )
    # The guardrail rates are stratified too: control 10 % then 30 %, treatment 20 % then 10 %.
    assert arms["control"]["metrics"]["close_rate"]["value"] == pytest.approx((2 * 0.1 + 0.3) / 3)
    assert arms["treatment"]["metrics"]["close_rate"]["value"] == pytest.approx((2 * 0.2 + 0.1) / 3)
    by_country = client.get(
        f"/v1/admin/experiments/{KEY}/report?segment=country", headers=auth("viewer")
    ).json
    [unknown] = by_country["segments"]  # these visitors have no country
    segment_lift = unknown["variants"][1]["metrics"]["conversion_rate"]["vs_control"]
    assert segment_lift["relative_lift"] == pytest.approx(1.0)
    assert log_in(client, make_user(services, "viewer")).status_code == 302
    html = client.get(f"/dashboard/experiments/{KEY}").get_data(as_text=True)
    assert 'id="weight-history"' in html
    assert "stratified by weight period" in html
    assert "50.0 %" in html and "Thompson sampling on conversion rate" in html
    listing = client.get("/dashboard/").get_data(as_text=True)  # the list reads reports too
    assert KEY in listing


def test_the_scheduler_runs_the_bandit_job_on_each_poll(
    client: FlaskClient,
    auth: Auth,
    services: Services,
    settings: Settings,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    start_bandit(client, auth)

    def broken(now: datetime) -> None:
        raise RuntimeError("a bug in another periodic job")

    bandit = job(services)
    polls = scheduler(services.engine, settings, clock, periodic=[broken, bandit.run_due])
    with caplog.at_level(logging.ERROR):
        assert polls.run_pending() == []
    assert "a bug in another periodic job" in caplog.text
    assert len(bandit.history.history(KEY)) == 1  # the bandit ran all the same


def test_the_editor_form_sets_the_bandit_knobs(client: FlaskClient, services: Services) -> None:
    assert log_in(client, make_user(services, "editor")).status_code == 302
    page = client.get("/dashboard/experiments/new")
    fields = form_fields(page.get_data(as_text=True))
    assert fields["bandit.floor"] == ""  # blank: the default, shown as a placeholder
    assert 'name="bandit.cadence_minutes" type="number" value=""' in page.get_data(as_text=True)
    assert 'placeholder="0.1"' in page.get_data(as_text=True)
    fields.update({"key": "knobs", "name": "Knobs", "allocation": "bandit", "op": "save"})
    fields.update({"bandit.floor": "0.7", "bandit.min_visitors": "1"})
    refused = post_form(client, "/dashboard/experiments/new", fields)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'id="f-bandit-floor-error">must be a number greater than 0 and at most 0.5' in html
    assert 'id="f-bandit-min_visitors-error">' in html
    fields.update({"bandit.floor": "0.25", "bandit.min_visitors": "500"})
    fields.update({"bandit.cadence_minutes": "30", "op": "add-variant"})
    fields = form_fields(
        post_form(client, "/dashboard/experiments/new", fields).get_data(as_text=True)
    )
    fields.update({"variants[1].key": "treatment", "op": "save"})
    created = post_form(client, "/dashboard/experiments/new", fields)
    assert created.status_code == 302, created.get_data(as_text=True)
    stored = services.experiments.get("knobs")
    assert stored is not None
    knobs = stored.experiment.bandit
    assert (knobs.floor, knobs.min_visitors, knobs.cadence_minutes) == (0.25, 500, 30)


def test_openapi_describes_the_bandit_knobs(client: FlaskClient) -> None:
    schemas = client.get("/openapi.json").json["components"]["schemas"]
    assert schemas["Experiment"]["properties"]["bandit"] == {
        "$ref": "#/components/schemas/BanditSettings"
    }
    assert set(schemas["BanditSettings"]["properties"]) == {
        "floor",
        "min_visitors",
        "min_conversions",
        "cadence_minutes",
    }
    assert "weight_history" in schemas["Report"]["properties"]
