"""One statistics engine per experiment, end to end: an experiment created through the admin
API with `analysis.engine`, readers and signed donations through the real endpoints, the
flusher, then the report, its CSV and the results page carry that engine's figures and words
and never the other's."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from service.jobs.flusher import open_flusher
from service.settings import Settings
from service.wiring import Services
from tests.functional.dashboard_support import form_fields, log_in, make_user, post_form
from tests.functional.events_support import (
    banner_for,
    donate,
    event,
    post_events,
    start_experiment,
)
from tests.support import FakeClock, experiment_doc

Auth = Callable[[str], dict[str, str]]
KEY = "engine-test"
REPORT = f"/v1/admin/experiments/{KEY}/report"
PAGE = f"/dashboard/experiments/{KEY}"
FIELDS = {
    "frequentist": {
        "relative_lift",
        "ci",
        "p_value",
        "p_value_adjusted",
        "absolute_difference",
        "absolute_ci",
    },
    "bayesian": {"relative_lift", "ci", "chance_to_beat_control", "risk"},
}
# What each engine's figures are called on the page; none may show on the other's.
WORDS = {
    "frequentist": ("p-value", "Holm-adjusted p", "confidence interval"),
    "bayesian": ("Chance to beat control", "Risk (expected loss", "credible interval"),
}


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    """A few dozen donors decide here: no minimum before a verdict (MIN_DONORS_PER_ARM)."""
    return {**env, "MIN_DONORS_PER_ARM": "0"}


def run_traffic(
    client: FlaskClient, auth: Auth, settings: Settings, clock: FakeClock, engine: str
) -> None:
    """120 readers; half of those shown five-dollars donate, a sixth of control's, 5 to 7
    dollars each (gifts that vary, so the average gift can be compared too)."""
    start_experiment(client, auth("editor"), key=KEY, targeting={}, analysis={"engine": engine})
    for i in range(120):
        visitor = f"reader-{i:04d}"
        banner = banner_for(client, visitor)
        batch = [event(banner["token"]), event(banner["token"], "view")]
        assert post_events(client, batch).json["accepted"] == len(batch)
        if i % (2 if banner["variant"] == "five-dollars" else 6) == 0:
            donate(
                client,
                settings.webhook_secret,
                clock(),
                visitor,
                f"p{i}",
                amount=5 + i % 3,
                frequency="monthly",
            )
    with open_flusher(settings, 500) as flusher:
        flusher.run_once()


def comparisons(report: dict[str, Any]) -> list[dict[str, Any]]:
    treatment = report["variants"][1]
    return [figures["vs_control"] for figures in treatment["metrics"].values()]


@pytest.mark.parametrize("engine", ["frequentist", "bayesian"])
def test_the_report_carries_only_its_engine_s_figures(
    client: FlaskClient,
    auth: Auth,
    services: Services,
    settings: Settings,
    clock: FakeClock,
    engine: str,
) -> None:
    run_traffic(client, auth, settings, clock, engine)
    response = client.get(REPORT, headers=auth("viewer"))
    assert response.status_code == 200, response.json
    report: dict[str, Any] = response.json  # type: ignore[assignment]
    assert report["analysis"] == {
        "engine": engine,
        "sequential": False,
        "cuped": False,
        "alpha": 0.05,
    }
    made = [vs for vs in comparisons(report) if "error" not in vs]
    assert len(made) == 4  # every metric of the registry could be compared
    assert all(set(vs) == FIELDS[engine] for vs in made)
    verdict = report["verdicts"][0]
    assert verdict["variant"] == "five-dollars" and verdict["status"] == "ahead"
    if engine == "bayesian":
        revenue = report["variants"][1]["metrics"]["revenue_per_visitor"]["vs_control"]
        assert revenue["chance_to_beat_control"] >= 0.95
        assert "chance to beat control" in verdict["text"]
        assert "95 % credible interval" in verdict["text"] and "CI" not in verdict["text"]
    else:
        assert "95 % CI" in verdict["text"] and "chance" not in verdict["text"]
    lifts = [p for p in report["daily"] if p["variant"] == "five-dollars"]
    assert (
        lifts
        and lifts[-1]["ci"]
        == report["variants"][1]["metrics"]["revenue_per_visitor"]["vs_control"]["ci"]
    )

    rows = list(
        csv.DictReader(io.StringIO(client.get(f"{REPORT}.csv", headers=auth("viewer")).text))
    )
    header = set(rows[0])
    ours, theirs = (
        ("chance_to_beat_control", "p_value")
        if engine == "bayesian"
        else ("p_value", "chance_to_beat_control")
    )
    assert f"revenue_per_visitor_{ours}" in header
    assert not any(column.endswith(theirs) for column in header)
    assert float(rows[1][f"revenue_per_visitor_{ours}"]) > 0

    log_in(client, make_user(services, "viewer"))
    html = client.get(PAGE).get_data(as_text=True)
    other = "bayesian" if engine == "frequentist" else "frequentist"
    for word in WORDS[engine]:
        assert word in html, word
    for word in WORDS[other]:
        assert word not in html, word


def test_always_valid_intervals_with_the_bayesian_engine_are_refused(
    client: FlaskClient, auth: Auth
) -> None:
    doc = experiment_doc(key=KEY, analysis={"engine": "bayesian", "sequential": True})
    response = client.post("/v1/admin/experiments", json=doc, headers=auth("editor"))
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {  # type: ignore[index]
        "analysis.sequential": "applies only to the frequentist engine"
    }


def test_the_editor_offers_both_engines_each_with_its_sentence(
    client: FlaskClient, services: Services
) -> None:
    log_in(client, make_user(services, "editor"))
    html = client.get("/dashboard/experiments/new").get_data(as_text=True)
    assert 'type="radio" id="f-analysis-engine-bayesian" name="analysis.engine"' in html
    assert 'type="radio" id="f-analysis-engine-frequentist" name="analysis.engine"' in html
    assert "the chance each variant beats control and the expected loss if you ship it" in html
    assert "Reports p-values and confidence intervals" in html


def test_an_editor_picks_the_bayesian_engine_in_the_form(
    client: FlaskClient, services: Services
) -> None:
    log_in(client, make_user(services, "editor"))
    fields = form_fields(client.get("/dashboard/experiments/new").get_data(as_text=True))
    assert fields["analysis.engine"] == "frequentist" and fields["analysis.sequential"] == ["on"]
    fields.update({"key": "winter-ask", "name": "Winter ask", "op": "save"})
    fields["analysis.engine"] = "bayesian"  # the always-valid box left ticked, as it starts
    saved = post_form(client, "/dashboard/experiments/new", fields)
    assert saved.status_code == 302, saved.get_data(as_text=True)
    stored = services.experiments.get("winter-ask")
    assert stored is not None and stored.experiment.analysis.engine == "bayesian"
    assert stored.experiment.analysis.sequential is False  # the frequentist-only box dropped
    edit = client.get("/dashboard/experiments/winter-ask/edit").get_data(as_text=True)
    assert form_fields(edit)["analysis.engine"] == "bayesian"
