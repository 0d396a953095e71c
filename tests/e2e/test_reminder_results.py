"""The results page's Reminders table in a real browser at 1280 and 375 px: present, labelled,
and no sideways scroll on a phone. Screenshots go to test-artifacts/."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from service.domain.roles import Role
from service.schemas.experiment import parse_experiment
from service.wiring import Services
from tests.e2e.layout import scrolls_sideways
from tests.e2e.test_dashboard import PASSWORD, sign_in
from tests.support import REMINDER_OFFER, banner, experiment_doc, insert_outcomes, insert_reminders

pytestmark = pytest.mark.e2e


def test_results_page_shows_the_reminders_table_at_both_widths(
    page: Any, live: Services, live_server: str, screenshot: Callable[[str], None]
) -> None:
    now = datetime.now(UTC)
    offering = banner() | {"reminder": REMINDER_OFFER}
    doc = experiment_doc(
        "reminder-test",
        variants=[
            {"key": "snooze", "weight": 50, "banner": banner()},
            {"key": "e-mail-reminder", "weight": 50, "banner": offering},
        ],
    )
    live.experiments.create(parse_experiment(doc), "e2e", now)
    live.users.create("viewer@newsroom.example", PASSWORD, Role.viewer, now)
    exposed = now - timedelta(days=3)
    visitors = [(f"reader-{v}-{n}", v) for v in ("snooze", "e-mail-reminder") for n in range(30)]
    with live.engine.begin() as conn:
        insert_outcomes(
            conn,
            [
                {
                    "experiment_key": "reminder-test",
                    "visitor": visitor,
                    "variant_key": variant,
                    "first_seen_at": exposed,
                    "first_exposure_at": exposed,
                    "last_event_at": exposed,
                    "impressions": 1,
                }
                for visitor, variant in visitors
            ],
        )
        insert_reminders(
            conn,
            [
                {
                    "experiment_key": "reminder-test",
                    "variant_key": "e-mail-reminder",
                    "visitor": f"reader-e-mail-reminder-{n}",
                    "created_at": exposed,
                    "confirmed_at": exposed + timedelta(hours=1),
                    "sent_at": exposed + timedelta(days=1) if n < 3 else None,
                    "status": "sent" if n < 3 else "confirmed",
                }
                for n in range(5)
            ],
        )
    sign_in(page, live_server, "viewer@newsroom.example")
    page.goto(f"{live_server}/dashboard/experiments/reminder-test")
    table = page.locator("#reminders")
    table.wait_for()
    assert page.get_by_role("heading", name="Reminders").is_visible()
    assert (
        "within 7 days of the reminder being sent" in page.locator("#reminders-note").inner_text()
    )
    row = table.locator("tr", has_text="Sent").first
    assert row.locator("td").all_inner_texts() == ["0", "3"]
    screenshot("dashboard-results-reminders")  # at 1280 and at 375 px
    page.set_viewport_size({"width": 375, "height": 800})
    assert not scrolls_sideways(page)
