"""The report's series from SQL: per UTC hour for the experiment's first 48 hours (to the next
midnight), per UTC day after them, whatever the date range asked for."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask.testing import FlaskClient

from service.wiring import Services
from tests.functional.test_report_api import URL, as_dict, outcome, report_client  # noqa: F401
from tests.support import experiment_doc, insert_outcomes

Auth = Callable[[str], dict[str, str]]


def _exposed(n: int, variant: str, at: datetime) -> dict[str, Any]:
    row = outcome(n, variant, 26)
    row.update(first_seen_at=at, first_exposure_at=at, last_event_at=at)
    return row


def test_hours_for_48_hours_then_days(
    report_client: FlaskClient,  # noqa: F811
    auth: Auth,
    services: Services,
) -> None:
    created = report_client.post(
        "/v1/admin/experiments", json=experiment_doc(), headers=auth("editor")
    )
    assert created.status_code == 201
    exposures = [
        datetime(2026, 11, 26, 10, 15, tzinfo=UTC),  # first: hours from 10:00 ...
        datetime(2026, 11, 26, 10, 50, tzinfo=UTC),
        datetime(2026, 11, 26, 11, 5, tzinfo=UTC),
        datetime(2026, 11, 28, 9, 59, tzinfo=UTC),  # ... through 47 hours later ...
        datetime(2026, 11, 28, 23, 30, tzinfo=UTC),  # ... and on to that day's end,
        datetime(2026, 11, 29, 0, 0, tzinfo=UTC),  # then whole days
        datetime(2026, 11, 29, 17, 0, tzinfo=UTC),
        datetime(2026, 12, 2, 8, 0, tzinfo=UTC),
    ]
    rows = [
        _exposed(n, v, at) for n, at in enumerate(exposures) for v in ("control", "five-dollars")
    ]
    with services.engine.begin() as conn:
        insert_outcomes(conn, rows)

    body = as_dict(report_client.get(URL, headers=auth("viewer")).json)
    control = [p for p in body["daily"] if p["variant"] == "control"]
    assert [(p["period"], p["at"], p["date"], p["visitors"]) for p in control] == [
        ("hour", "2026-11-26T10:00:00Z", "2026-11-26", 2),
        ("hour", "2026-11-26T11:00:00Z", "2026-11-26", 3),
        ("hour", "2026-11-28T09:00:00Z", "2026-11-28", 4),
        ("hour", "2026-11-28T23:00:00Z", "2026-11-28", 5),
        ("day", "2026-11-29T00:00:00Z", "2026-11-29", 7),
        ("day", "2026-12-02T00:00:00Z", "2026-12-02", 8),
    ]
    # A range that starts later keeps the experiment's own switch: hours until its 48th.
    body = as_dict(report_client.get(f"{URL}?from=2026-11-28", headers=auth("viewer")).json)
    assert [(p["period"], p["at"], p["visitors"]) for p in body["daily"][::2]] == [
        ("hour", "2026-11-28T09:00:00Z", 1),
        ("hour", "2026-11-28T23:00:00Z", 2),
        ("day", "2026-11-29T00:00:00Z", 4),
        ("day", "2026-12-02T00:00:00Z", 5),
    ]
