"""A small experiment on the results page, the report API and the experiment list: below
MIN_DONORS_PER_ARM donors a comparison shows how far it has to go instead of a lift, an
interval or a verdict, and a draft shows no verdict anywhere."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.api.admin import reports
from service.domain.report_metrics import METRICS
from service.jobs.flusher import open_flusher
from service.settings import Settings
from service.wiring import Services
from tests.functional.dashboard_support import log_in, make_user
from tests.functional.events_support import (
    banner_for,
    donate,
    event,
    post_events,
    start_experiment,
)
from tests.support import FakeClock, experiment_doc

Auth = Callable[[str], dict[str, str]]
PAGE = "/dashboard/experiments/monthly-ask"
REPORT = "/v1/admin/experiments/monthly-ask/report"


@pytest.fixture
def api(app: Flask) -> Iterator[FlaskClient]:
    if "reports" not in app.blueprints:
        app.register_blueprint(reports.bp)
    yield app.test_client()


@pytest.fixture
def day_one(api: FlaskClient, auth: Auth, settings: Settings, clock: FakeClock) -> dict[str, int]:
    """40 readers, every fourth donates: a handful of donors per arm. Donors per variant."""
    start_experiment(api, auth("editor"), targeting={})
    donors = {"control": 0, "five-dollars": 0}
    for i in range(40):
        visitor = f"reader-{i:04d}"
        banner = banner_for(api, visitor)
        assert post_events(api, [event(banner["token"])]).json["accepted"] == 1
        if i % 4 == 0:
            donate(api, settings.webhook_secret, clock(), visitor, f"pay_{visitor}")
            donors[banner["variant"]] += 1
    with open_flusher(settings, 500) as flusher:
        flusher.run_once()
    return donors


def test_the_page_says_how_many_donors_instead_of_a_lift_or_verdict(
    api: FlaskClient, services: Services, day_one: dict[str, int]
) -> None:
    fewest = min(day_one.values())
    expected = f"not enough data yet: {fewest} of 30 donors"
    log_in(api, make_user(services, "viewer"))
    html = api.get(PAGE).get_data(as_text=True)
    assert (
        f'class="verdict verdict-not_enough_data"><strong>five-dollars</strong>: {expected}' in html
    )
    comparisons = html[
        html.index('id="comparison-table"') : html.index(
            "</table>", html.index('id="comparison-table"')
        )
    ]
    # Every metric's row for the pair says so; none shows a lift or an interval.
    assert comparisons.count(expected) == len(METRICS)
    assert " % to " not in comparisons and "below -100 %" not in comparisons
    charts: Any = json.loads(
        re.search(r'id="chart-data">(.*?)</script>', html, re.S).group(1)  # type: ignore[union-attr]
    )
    assert charts["lift"]["series"] == []
    assert 'id="lift-held"' in html
    assert charts["conversion"]["axis"]["min"] >= 0


def test_the_report_api_carries_the_same_verdict(
    api: FlaskClient, auth: Auth, day_one: dict[str, int]
) -> None:
    body = api.get(REPORT, headers=auth("viewer")).json
    assert body is not None
    fewest = min(day_one.values())
    assert body["verdicts"] == [
        {
            "variant": "five-dollars",
            "status": "not_enough_data",
            "text": f"not enough data yet: {fewest} of 30 donors",
            "donors": fewest,
            "donors_needed": 30,
        }
    ]
    assert [v["conversions"] for v in body["variants"]] == [
        day_one["control"],
        day_one["five-dollars"],
    ]
    assert all(p["lift"] is None for p in body["daily"])


def test_the_experiment_list_says_not_enough_data(
    api: FlaskClient, services: Services, day_one: dict[str, int]
) -> None:
    log_in(api, make_user(services, "viewer"))
    html = api.get("/dashboard/").get_data(as_text=True)
    assert f"not enough data yet: {min(day_one.values())} of 30 donors" in html
    assert "no variant is ahead" not in html


@pytest.fixture
def no_minimum(env: dict[str, str]) -> None:
    env["MIN_DONORS_PER_ARM"] = "0"


@pytest.mark.usefixtures("no_minimum")
def test_with_no_minimum_the_comparison_shows(
    api: FlaskClient, auth: Auth, day_one: dict[str, int]
) -> None:
    body = api.get(REPORT, headers=auth("viewer")).json
    assert body is not None
    assert body["verdicts"][0]["status"] != "not_enough_data"


def test_a_draft_shows_no_verdict_anywhere(
    api: FlaskClient, auth: Auth, services: Services
) -> None:
    created = api.post("/v1/admin/experiments", json=experiment_doc(), headers=auth("editor"))
    assert created.status_code == 201
    body = api.get(REPORT, headers=auth("viewer")).json
    assert body is not None and body["verdicts"] == []
    log_in(api, make_user(services, "viewer"))
    page = api.get(PAGE).get_data(as_text=True)
    assert 'id="no-verdict"' in page
    assert (
        'class="verdict verdict-' not in page
        and "not enough data" not in page
        and "keep running" not in page
    )
    listing = api.get("/dashboard/").get_data(as_text=True)
    assert "not enough data" not in listing and "keep running" not in listing
