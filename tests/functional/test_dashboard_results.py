"""The results page and its CSV, on data that went through the real pipeline: decisions,
events and signed donations, then the flusher."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

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
from tests.support import FakeClock

Auth = Callable[[str], dict[str, str]]
PAGE = "/dashboard/experiments/monthly-ask"


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    """These tests read the comparisons of a few dozen donors: no minimum before a verdict
    (MIN_DONORS_PER_ARM; test_dashboard_small_samples.py covers the minimum)."""
    return {**env, "MIN_DONORS_PER_ARM": "0"}


@pytest.fixture
def traffic(
    client: FlaskClient, auth: Auth, services: Services, settings: Settings, clock: FakeClock
) -> dict[str, str]:
    """Two days of readers: 60 a day, every fourth donates, every fifth dismisses."""
    start_experiment(client, auth("editor"), targeting={})
    seen: dict[str, str] = {}
    for day in range(2):
        for i in range(60):
            visitor = f"reader-{day}-{i:04d}"
            banner = banner_for(client, visitor)
            seen[visitor] = banner["variant"]
            batch = [event(banner["token"]), event(banner["token"], "view")]
            if i % 5 == 0:
                batch.append(event(banner["token"], "dismiss", reason="remind_later"))
            assert post_events(client, batch).json["accepted"] == len(batch)
            if i % 4 == 0:
                donate(
                    client,
                    settings.webhook_secret,
                    clock(),
                    visitor,
                    f"pay_{day * 100 + i}",
                    frequency="monthly",
                )
        with open_flusher(settings, 500) as flusher:
            flusher.run_once()
        clock.advance(days=1)
    clock.advance(days=-1)  # back to the second day, whose live counters are still in Redis
    return seen


def test_results_page_shows_verdict_tables_charts_and_live_counts(
    client: FlaskClient, services: Services, traffic: dict[str, str]
) -> None:
    log_in(client, make_user(services, "viewer"))
    page = client.get(PAGE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert re.search(
        r'class="verdict verdict-(ahead|behind|inconclusive)"><strong>five-dollars', html
    )
    # Every metric of DESIGN §5 has a row.
    for label in (
        "Exposed visitors",
        "Impressions",
        "Views",
        "Clicks",
        "Dismissals: remind later",
        "Average first gift",
        "Recurring share",
        "Revenue per 1,000 impressions",
        "Click-through rate",
        "Dismiss rate",
        "of whom later donated",
        "12-month value",
        "Refunds and disputes",
        "Active recurring donors",
        "Churned recurring donors",
        "Converting visitors",
    ):
        assert label in html, label
    variant_table = html[
        html.index('id="variant-table"') : html.index("</table>", html.index('id="variant-table"'))
    ]
    control = sum(1 for v in traffic.values() if v == "control")
    assert f">{control:,}<" in variant_table.replace("\n", "").replace(" ", "")
    # The experiment is frequentist (the default): its figures, not the Bayesian ones.
    assert "Holm-adjusted p" in html and "95 % confidence interval" in html
    assert "Chance to beat control" not in html and "credible" not in html
    charts: Any = json.loads(
        re.search(
            r'<script type="application/json" id="chart-data">(.*?)</script>', html, re.S
        ).group(1)
    )  # type: ignore[union-attr]
    assert len(charts["conversion"]["x"]) == 2
    assert [s["label"] for s in charts["conversion"]["series"]] == ["control", "five-dollars"]
    assert all(v is not None for v in charts["conversion"]["series"][0]["values"])
    assert charts["lift"]["series"][0]["label"] == "five-dollars vs control"
    impressions = [s for s in charts["activity"]["series"] if s["label"].endswith("impressions")]
    assert sum(sum(s["values"]) for s in impressions) == 120
    dismissals = [s for s in charts["activity"]["series"] if s["label"].endswith("dismissals")]
    assert sum(sum(s["values"]) for s in dismissals) == 24
    live = html[
        html.index('id="live-table"') : html.index("</table>", html.index('id="live-table"'))
    ]
    assert "control" in live and "five-dollars" in live
    # Today's 60 impressions, split between the variants.
    cells = re.findall(r'<td class="num">([\d,]+)</td>', live)
    assert sum(int(c.replace(",", "")) for c in cells[1::7]) == 60


def test_segment_and_date_range(
    client: FlaskClient, services: Services, traffic: dict[str, str]
) -> None:
    log_in(client, make_user(services, "viewer"))
    segmented = client.get(PAGE, query_string={"segment": "device"}).get_data(as_text=True)
    assert 'id="segment-table"' in segmented, segmented[segmented.find("Over time") :][:4000]
    assert '<th scope="row">mobile</th>' in segmented
    one_day = client.get(PAGE, query_string={"from": "2026-11-29", "to": "2026-11-29"})
    charts: Any = json.loads(
        re.search(r'id="chart-data">(.*?)</script>', one_day.get_data(as_text=True), re.S).group(1)
    )  # type: ignore[union-attr]
    assert len(charts["conversion"]["x"]) == 1
    bad = client.get(PAGE, query_string={"from": "yesterday"})
    assert bad.status_code == 400
    assert "use YYYY-MM-DD" in bad.get_data(as_text=True)


def test_csv_download_matches_the_page(
    client: FlaskClient, services: Services, traffic: dict[str, str]
) -> None:
    log_in(client, make_user(services, "viewer"))
    response = client.get(f"{PAGE}/report.csv")
    assert response.status_code == 200
    assert (
        response.headers["Content-Disposition"] == 'attachment; filename="monthly-ask-report.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["variant"] for r in rows] == ["control", "five-dollars"]
    assert sum(int(r["visitors"]) for r in rows) == 120
    assert sum(int(r["conversions"]) for r in rows) == 30
    assert client.get("/dashboard/experiments/nope/report.csv").status_code == 404


def test_results_without_traffic_say_so(
    client: FlaskClient, services: Services, auth: Auth
) -> None:
    start_experiment(client, auth("editor"), targeting={})
    log_in(client, make_user(services, "viewer"))
    html = client.get(PAGE).get_data(as_text=True)
    assert "nothing to chart" in html
    assert "keep running: not enough data yet" in html
    listing = client.get("/dashboard/").get_data(as_text=True)
    assert "low traffic: 0 visitors" in listing
