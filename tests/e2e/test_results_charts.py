"""The results page's charts as a product person reads them, at 1280 and 375 px: on day one an
hourly axis with dots and their bands, for a mature experiment a daily axis, verdicts and the
lift chart, and always y labels that differ and charts that fit the screen. Screenshots go to
test-artifacts/. The data is written as the flusher would have written it, hours or weeks
before now (the live server reads the real clock)."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from service.domain.experiment import Status
from service.domain.roles import Role
from service.schemas.experiment import parse_experiment
from service.wiring import Services
from tests.e2e.charts_support import assert_readable, read_charts
from tests.e2e.test_dashboard import PASSWORD, sign_in
from tests.support import experiment_doc, insert_outcomes

pytestmark = pytest.mark.e2e


def _running(live: Services, key: str, started: datetime) -> None:
    stored = live.experiments.create(parse_experiment(experiment_doc(key)), "e2e", started)
    live.experiments.save(
        stored.experiment.with_status(Status.running), action="start", actor="e2e", now=started
    )


def _outcomes(live: Services, key: str, exposures: list[tuple[str, datetime, bool]]) -> None:
    """One visitor_outcomes row per (variant, first exposure, donated)."""
    rows = []
    for n, (variant, exposed, donated) in enumerate(exposures):
        rows.append(
            {
                "experiment_key": key,
                "visitor": f"reader-{n:06d}",
                "variant_key": variant,
                "first_seen_at": exposed,
                "first_exposure_at": exposed,
                "last_event_at": exposed,
                "country": "US",
                "device": "mobile",
                "impressions": 1,
                "views": 1,
                "clicks": int(donated),
                "dismiss_remind_later": 0,
                "dismiss_close": 0,
                "dismiss_already_donated": 0,
                "conversions": int(donated),
                "recurring_conversions": 0,
                "revenue": 5.0 if donated else 0.0,
                "annualised_value": 5.0 if donated else 0.0,
                "first_remind_later_at": None,
                "converted_after_remind_later": False,
            }
        )
    with live.engine.begin() as conn:
        insert_outcomes(conn, rows)


def _traffic(
    start: datetime, hours: int, per_hour: int, rates: dict[str, float], seed: int
) -> list[tuple[str, datetime, bool]]:
    rng = random.Random(seed)
    out = []
    for hour in range(hours):
        for _ in range(per_hour):
            variant = rng.choice(sorted(rates))
            at = start + timedelta(hours=hour, seconds=rng.randrange(3600))
            out.append((variant, at, rng.random() < rates[variant]))
    return out


def _open(page: Any, live: Services, base: str, key: str) -> None:
    live.users.create("viewer@newsroom.example", PASSWORD, Role.viewer, datetime.now(UTC))
    sign_in(page, base, "viewer@newsroom.example")
    page.goto(f"{base}/dashboard/experiments/{key}")
    page.locator('[data-chart="conversion"][data-rendered] canvas').first.wait_for()


def test_day_one_draws_an_hourly_axis(page: Any, live: Services, live_server: str) -> None:
    now = datetime.now(UTC)
    began = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=4)
    _running(live, "day-one", began)
    _outcomes(live, "day-one", _traffic(began, 4, 60, {"control": 0.03, "five-dollars": 0.05}, 1))
    _open(page, live, live_server, "day-one")

    seen = read_charts(page, "day-one")
    assert_readable(seen, {"conversion"})
    wide = seen[1280]["charts"]["conversion"]
    # One point per hour so far, each with its interval bar (two variants).
    assert wide["bands"] == 2 * 4
    labels = [label for label in wide["x"] if label]
    assert all(re.fullmatch(r"\d\d:00(\n\d{1,2} [A-Z][a-z]{2})?", lab) for lab in labels), labels
    assert "\n" in labels[0], "the first hour says its date"
    assert len(set(labels)) == len(labels)
    # Too few donors for a lift: the verdict says how far there is to go.
    verdict = page.locator("li.verdict").first.inner_text()
    assert re.search(r"not enough data yet: \d+ of 30 donors", verdict), verdict
    assert "first 48 hours (to the next midnight, UTC)" in page.locator("#series-note").inner_text()
    table = page.locator('[data-chart="conversion"] ~ details table')
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:00", table.text_content() or "")
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_a_mature_experiment_has_verdicts_and_a_daily_lift_chart(
    page: Any, live: Services, live_server: str
) -> None:
    now = datetime.now(UTC)
    began = now.replace(minute=0, second=0, microsecond=0) - timedelta(days=28)
    _running(live, "mature", began)
    rates = {"control": 0.03, "five-dollars": 0.06}
    _outcomes(live, "mature", _traffic(began, 28 * 24, 8, rates, 2))
    _open(page, live, live_server, "mature")

    seen = read_charts(page, "mature")
    assert_readable(seen, {"conversion", "lift"})
    for width in (1280, 375):
        labels = [label for label in seen[width]["charts"]["lift"]["x"] if label]
        # Weeks on the axis: dates, not hours.
        assert all(re.fullmatch(r"\d{1,2} [A-Z][a-z]{2}", label) for label in labels), labels
        assert len(set(labels)) == len(labels)
    assert len([x for x in seen[375]["charts"]["lift"]["x"] if x]) <= 4
    verdict = page.locator("li.verdict").first.inner_text()
    assert verdict.startswith("five-dollars") and "not enough data" not in verdict, verdict
    assert page.locator("li.verdict-ahead").count() == 1
    assert page.console_errors == []  # type: ignore[attr-defined]
