"""The report's e-mail reminders (issue 19): sign-ups, confirmations, reminders sent and
clicked per variant, and the donations that came within the attribution window after a
reminder was sent, in the JSON report, the CSV and the results page. Reminder rows are written
as the sign-up endpoint and the sender leave them (tests.support.insert_reminders)."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert

from service.api.admin import reports
from service.store.sql.event_tables import events
from service.wiring import Services
from tests.functional.dashboard_support import log_in, make_user
from tests.support import REMINDER_OFFER, banner, experiment_doc, insert_outcomes, insert_reminders

Auth = Callable[[str], dict[str, str]]
URL = "/v1/admin/experiments/monthly-ask/report"
TREATMENT = "five-dollars"
_ids = itertools.count()


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "MIN_DONORS_PER_ARM": "0"}


@pytest.fixture
def report_client(app: Flask) -> Iterator[FlaskClient]:
    if "reports" not in app.blueprints:
        app.register_blueprint(reports.bp)
    yield app.test_client()


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def outcome(n: int, variant: str) -> dict[str, Any]:
    exposed = at(11, 26)
    return {
        "experiment_key": "monthly-ask",
        "visitor": f"{variant}-{n}",
        "variant_key": variant,
        "first_seen_at": exposed,
        "first_exposure_at": exposed,
        "last_event_at": exposed,
        "impressions": 1,
        "views": 1,
    }


def conversion(visitor: str, ts: datetime, revenue: float, **kw: Any) -> dict[str, Any]:
    return {
        "event_id": f"evt-{next(_ids)}",
        "type": "conversion",
        "experiment_key": "monthly-ask",
        "variant_key": TREATMENT,
        "visitor": visitor,
        "ts": ts,
        "received_at": ts,
        "amount_minor": int(revenue * 100),
        "currency": "USD",
        "frequency": "one_off",
        "revenue": revenue,
        "source": "webhook",
        "counted": True,
        **kw,
    }


def reminder(visitor: str, **kw: Any) -> dict[str, Any]:
    return {
        "experiment_key": "monthly-ask",
        "variant_key": TREATMENT,
        "visitor": visitor,
        "created_at": at(11, 26, 11),
        "confirmed_at": None,
        "sent_at": None,
        "clicked_at": None,
        "qa": False,
        **kw,
    }


def confirmed_and_sent(visitor: str, sent: datetime, **kw: Any) -> dict[str, Any]:
    return reminder(visitor, confirmed_at=at(11, 26, 12), sent_at=sent, status="sent", **kw)


@pytest.fixture
def started(report_client: FlaskClient, auth: Auth, services: Services) -> FlaskClient:
    """Control snoozes; five-dollars offers a reminder. The revenue cap is 100, the
    attribution window 7 days."""
    offering = banner(monthly=[5, 10, 20]) | {"reminder": REMINDER_OFFER}
    doc = experiment_doc(
        analysis={"revenue_cap": 100},
        variants=[
            {"key": "control", "weight": 50, "banner": banner()},
            {"key": TREATMENT, "weight": 50, "banner": offering},
        ],
    )
    created = report_client.post("/v1/admin/experiments", json=doc, headers=auth("editor"))
    assert created.status_code == 201, created.json
    start = report_client.post("/v1/admin/experiments/monthly-ask/start", headers=auth("editor"))
    assert start.status_code == 200
    t = [f"{TREATMENT}-{n}" for n in range(40)]
    with services.engine.begin() as conn:
        insert_outcomes(
            conn,
            [outcome(n, "control") for n in range(40)] + [outcome(n, TREATMENT) for n in range(40)],
        )
        insert_reminders(
            conn,
            [
                confirmed_and_sent(t[0], at(12, 10), clicked_at=at(12, 10, 12)),
                # Signed up twice: two rows, one visitor; a gift inside both windows counts once.
                confirmed_and_sent(t[1], at(12, 1)),
                confirmed_and_sent(t[1], at(12, 5)),
                reminder(t[2]),  # never confirmed
                reminder(t[3], confirmed_at=at(11, 27), status="confirmed"),  # not due yet
                # From a QA token: never counted, nor the gift after it.
                confirmed_and_sent(t[4], at(12, 10), clicked_at=at(12, 10, 11), qa=True),
                confirmed_and_sent(t[5], at(12, 10)),  # erased below
            ],
        )
        conn.execute(
            insert(events),
            [
                conversion(t[0], at(12, 9), 50.0),  # before the reminder: not counted
                conversion(t[0], at(12, 11), 30.0),
                conversion(t[0], at(12, 16), 200.0),  # in the window; capped with the 30 at 100
                conversion(t[0], at(12, 17, 11), 40.0),  # 7 days and an hour later: too late
                conversion(t[0], at(12, 12), 70.0, counted=False),  # untrusted: not counted
                conversion(t[0], at(12, 12), 90.0, experiment_key="other"),
                conversion(t[1], at(12, 6), 10.0),
                conversion(t[4], at(12, 11), 25.0),
                conversion(t[5], at(12, 11), 20.0),
                conversion(t[6], at(12, 11), 15.0),  # no reminder: not counted
            ],
        )
    return report_client


def reminders_of(client: FlaskClient, auth: Auth) -> dict[str, Any]:
    response = client.get(URL, headers=auth("viewer"))
    assert response.status_code == 200, response.json
    section = response.json["reminders"]
    assert isinstance(section, dict)
    return section


def test_reminder_figures_count_gifts_in_the_window_after_a_sent_reminder(
    started: FlaskClient, auth: Auth
) -> None:
    section = reminders_of(started, auth)
    assert section["attribution_days"] == 7
    control, treatment = section["variants"]
    assert control["variant"] == "control" and control["signups"] == 0
    assert control["signup_rate"] == {"value": 0.0, "vs_control": None}
    assert {k: treatment[k] for k in list(treatment)[:8]} == {
        "variant": TREATMENT,
        "signups": 6,
        "confirmations": 5,
        "sent": 4,
        "clicks": 1,
        "donors_after_reminder": 3,
        "donations_after_reminder": 4,
        "revenue_after_reminder": 260.0,
    }
    assert treatment["signup_rate"]["value"] == pytest.approx(5 / 40)
    per_visitor = treatment["revenue_after_reminder_per_visitor"]
    assert per_visitor["value"] == pytest.approx((100 + 10 + 20) / 40)
    # Control only snoozes, so it has no reminder revenue to be relative to.
    assert per_visitor["vs_control"]["error"].startswith("control offers no e-mail reminder")


def test_an_erased_visitor_leaves_the_reminder_figures(
    started: FlaskClient, auth: Auth, services: Services
) -> None:
    gone = started.delete(f"/v1/admin/visitors/{TREATMENT}-5", headers=auth("admin"))
    assert gone.status_code == 200, gone.json
    treatment = reminders_of(started, auth)["variants"][1]
    assert (treatment["signups"], treatment["sent"], treatment["donors_after_reminder"]) == (
        5,
        3,
        2,
    )
    assert treatment["revenue_after_reminder"] == 240.0
    assert treatment["revenue_after_reminder_per_visitor"]["value"] == pytest.approx(110 / 39)


def test_reminder_columns_in_the_csv(started: FlaskClient, auth: Auth) -> None:
    response = started.get(URL + ".csv", headers=auth("viewer"))
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    header = list(rows[0])
    assert header[-1] == "reminder_revenue_after_reminder_per_visitor_error"
    treatment = rows[1]
    assert treatment["reminder_signups"] == "6" and treatment["reminder_sent"] == "4"
    assert treatment["reminder_revenue_after_reminder"] == "260.0"
    assert float(treatment["reminder_signup_rate"]) == pytest.approx(5 / 40)


def test_no_reminder_section_without_an_offer_or_sign_ups(
    report_client: FlaskClient, auth: Auth
) -> None:
    created = report_client.post(
        "/v1/admin/experiments", json=experiment_doc(), headers=auth("editor")
    )
    assert created.status_code == 201
    response = report_client.get(URL, headers=auth("viewer"))
    assert "reminders" not in response.json
    header = response_csv_header(report_client, auth)
    assert "reminder_signups" in header  # the CSV's columns never depend on the data


def response_csv_header(client: FlaskClient, auth: Auth) -> list[str]:
    body = client.get(URL + ".csv", headers=auth("viewer")).get_data(as_text=True)
    return next(csv.reader(io.StringIO(body)))


def test_results_page_shows_the_reminders_table(started: FlaskClient, services: Services) -> None:
    log_in(started, make_user(services, "viewer"))
    page = started.get("/dashboard/experiments/monthly-ask").get_data(as_text=True)
    assert 'id="reminders"' in page
    assert "within 7 days of the reminder being sent" in page
    table = page[page.index('id="reminders"') :]
    for label in ("Sign-ups", "Confirmed", "Sent", "Clicked", "Donations after a reminder"):
        assert label in table
