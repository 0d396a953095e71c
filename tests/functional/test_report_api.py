"""GET /v1/admin/experiments/<key>/report[.csv]: figures from visitor_outcomes rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.api.admin import reports
from service.wiring import Services
from tests.support import experiment_doc, insert_outcomes

Auth = Callable[[str], dict[str, str]]
URL = "/v1/admin/experiments/monthly-ask/report"


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    """These tests read the comparisons of a few dozen donors: no minimum before a verdict
    (MIN_DONORS_PER_ARM; test_dashboard_small_samples.py covers the minimum)."""
    return {**env, "MIN_DONORS_PER_ARM": "0"}


@pytest.fixture
def report_client(app: Flask) -> Iterator[FlaskClient]:
    if "reports" not in app.blueprints:
        app.register_blueprint(reports.bp)
    yield app.test_client()


def as_dict(body: Any) -> dict[str, Any]:
    assert isinstance(body, dict)
    return body


def outcome(n: int, variant: str, day: int, **kw: Any) -> dict[str, Any]:
    exposed = datetime(2026, 11, day, 10, 0, tzinfo=UTC)
    row: dict[str, Any] = {
        "experiment_key": "monthly-ask",
        "visitor": f"visitor-{variant}-{n:05d}",
        "variant_key": variant,
        "first_seen_at": exposed,
        "first_exposure_at": exposed,
        "last_event_at": exposed,
        "country": "US" if n % 2 else "GB",
        "device": "mobile",
        "impressions": 2,
        "views": 1,
        # executemany needs the same keys in every row
        **dict.fromkeys(
            ("clicks", "dismiss_remind_later", "dismiss_close", "dismiss_already_donated"), 0
        ),
        **dict.fromkeys(("conversions", "recurring_conversions"), 0),
        "revenue": 0.0,
        "annualised_value": 0.0,
        "first_remind_later_at": None,
        "converted_after_remind_later": False,
    }
    row.update(kw)
    return row


@pytest.fixture
def started(report_client: FlaskClient, auth: Auth, services: Services) -> FlaskClient:
    doc = experiment_doc(analysis={"revenue_cap": 100})
    assert (
        report_client.post("/v1/admin/experiments", json=doc, headers=auth("editor")).status_code
        == 201
    )
    start = report_client.post("/v1/admin/experiments/monthly-ask/start", headers=auth("editor"))
    assert start.status_code == 200
    rows = []
    for n in range(40):
        kw: dict[str, Any] = {}
        if n < 4:
            kw = {
                "conversions": 1,
                "revenue": 10.0,
                "annualised_value": 120.0,
                "recurring_conversions": 1,
                "clicks": 1,
            }
        rows.append(outcome(n, "control", 26 if n < 20 else 27, **kw))
    for n in range(40):
        kw = {}
        if n < 6:
            kw = {
                "conversions": 1,
                "revenue": 500.0 if n == 0 else 20.0,
                "annualised_value": 20.0,
                "clicks": 1,
            }
        if n == 10:
            kw = {
                "dismiss_remind_later": 1,
                "first_remind_later_at": datetime(2026, 11, 26, 11, tzinfo=UTC),
            }
        rows.append(outcome(n, "five-dollars", 26 if n < 20 else 27, **kw))
    # Assigned but never shown: not exposed, so not counted.
    rows.append(outcome(999, "control", 26, first_exposure_at=None, impressions=0, views=0))
    with services.engine.begin() as conn:
        insert_outcomes(conn, rows)
    return report_client


def test_report_figures(started: FlaskClient, auth: Auth) -> None:
    response = started.get(URL, headers=auth("viewer"))
    assert response.status_code == 200, response.json
    body = as_dict(response.json)
    assert body["experiment"] == "monthly-ask"
    assert body["analysis"] == {
        "engine": "frequentist",
        "sequential": False,
        "cuped": False,
        "alpha": 0.05,
    }
    control, treatment = body["variants"]
    assert control["visitors"] == 40 and treatment["visitors"] == 40
    assert control["impressions"] == 80 and control["clicks"] == 4
    assert control["conversions"] == 4 and control["revenue"] == 40.0
    assert control["recurring_share"] == 1.0
    assert treatment["revenue"] == 600.0  # raw total
    # Per-visitor revenue is winsorised at the cap of 100.
    assert treatment["metrics"]["revenue_per_visitor"]["value"] == pytest.approx(200 / 40)
    assert treatment["dismissals"]["remind_later"] == 1
    assert treatment["remind_later_visitors"] == 1
    assert treatment["remind_later_to_donated"] == 0.0
    vs = treatment["metrics"]["conversion_rate"]["vs_control"]
    assert vs["relative_lift"] == pytest.approx(0.5)
    assert 0 < vs["p_value"] <= vs["p_value_adjusted"] <= 1
    assert "chance_to_beat_control" not in vs and "risk" not in vs
    assert body["srm"]["p_value"] == pytest.approx(1.0)
    assert body["verdicts"][0]["status"] == "inconclusive"
    days = [(p["date"], p["variant"], p["visitors"]) for p in body["daily"]]
    assert days == [
        ("2026-11-26", "control", 20),
        ("2026-11-26", "five-dollars", 20),
        ("2026-11-27", "control", 40),
        ("2026-11-27", "five-dollars", 40),
    ]


def test_date_range_and_segment(started: FlaskClient, auth: Auth) -> None:
    response = started.get(f"{URL}?from=2026-11-27&to=2026-11-27", headers=auth("viewer"))
    body = as_dict(response.json)
    assert body["from"] == "2026-11-27" and body["to"] == "2026-11-27"
    assert [v["visitors"] for v in body["variants"]] == [20, 20]
    assert [v["conversions"] for v in body["variants"]] == [0, 0]
    assert [p["date"] for p in body["daily"]] == ["2026-11-27", "2026-11-27"]
    body = as_dict(started.get(f"{URL}?segment=country", headers=auth("viewer")).json)
    assert body["segment"] == "country"
    assert [s["value"] for s in body["segments"]] == ["GB", "US"]
    assert [v["visitors"] for v in body["segments"][0]["variants"]] == [20, 20]
    assert [v["visitors"] for v in body["variants"]] == [40, 40]


def test_csv(started: FlaskClient, auth: Auth) -> None:
    response = started.get(f"{URL}.csv?segment=device", headers=auth("viewer"))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert 'filename="monthly-ask-report.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8"))))
    assert [(r["segment"], r["segment_value"], r["variant"]) for r in rows] == [
        ("", "", "control"),
        ("", "", "five-dollars"),
        ("device", "mobile", "control"),
        ("device", "mobile", "five-dollars"),
    ]
    assert rows[0]["visitors"] == "40" and rows[1]["revenue"] == "600.0"
    assert rows[0]["conversion_rate_relative_lift"] == ""
    assert float(rows[1]["conversion_rate_relative_lift"]) == pytest.approx(0.5)
    assert float(rows[1]["revenue_per_visitor"]) == pytest.approx(5.0)
    # The frequentist engine's columns only.
    assert 0 < float(rows[1]["conversion_rate_p_value"]) <= 1
    assert not any(column.endswith(("chance_to_beat_control", "_risk")) for column in rows[0])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-13-01", "from"),
        ("to=yesterday", "to"),
        ("from=20261127", "from"),
        ("from=2026-11-28&to=2026-11-27", "from"),
        ("segment=browser", "segment"),
    ],
)
def test_bad_params(started: FlaskClient, auth: Auth, query: str, field: str) -> None:
    response = started.get(f"{URL}?{query}", headers=auth("viewer"))
    assert response.status_code == 400
    assert field in as_dict(response.json)["error"]["fields"]


def test_unknown_experiment_and_auth(report_client: FlaskClient, auth: Auth) -> None:
    missing = "/v1/admin/experiments/nope/report"
    assert report_client.get(missing, headers=auth("viewer")).status_code == 404
    assert report_client.get(f"{missing}.csv", headers=auth("viewer")).status_code == 404
    assert report_client.get(URL).status_code == 401
    assert report_client.get(f"{URL}.csv").status_code == 401
    bad = {"Authorization": "Bearer nonsense"}
    assert report_client.get(URL, headers=bad).status_code == 401


def test_empty_experiment_report(report_client: FlaskClient, auth: Auth) -> None:
    assert (
        report_client.post(
            "/v1/admin/experiments", json=experiment_doc(), headers=auth("editor")
        ).status_code
        == 201
    )
    body = as_dict(report_client.get(URL, headers=auth("admin")).json)
    assert [v["visitors"] for v in body["variants"]] == [0, 0]
    assert body["srm"]["p_value"] is None and body["daily"] == []
    assert "error" in body["variants"][1]["metrics"]["conversion_rate"]["vs_control"]
