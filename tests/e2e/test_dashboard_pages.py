"""The other staff pages in a real browser at both widths: exports (create a schedule through
the form), "why no banner", and the dry run in a draft's editor. Screenshots at 1280 and
375 px go to test-artifacts/."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert

from service.domain.roles import Role
from service.schemas.experiment import parse_experiment
from service.store.sql.event_tables import decision_log
from service.wiring import Services
from tests.e2e.layout import scrolls_sideways
from tests.e2e.test_dashboard import PASSWORD, sign_in
from tests.support import experiment_doc

pytestmark = pytest.mark.e2e


def _no_horizontal_scroll(page: Any) -> bool:
    page.set_viewport_size({"width": 375, "height": 800})
    page.wait_for_timeout(300)
    overflow = scrolls_sideways(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    return not overflow


def _sampled_decisions(live: Services, now: datetime) -> None:
    """A day of sampled decisions as the flusher would have written them."""
    rows = []
    for n in range(60):
        outcome = ("shown", "not_targeted", "capped", "snoozed", "supporter")[n % 5]
        rows.append(
            {
                "entry_id": f"e2e-{n}",
                "decided_at": now,
                "day": now.date(),
                "placement": "article-end" if n % 3 else "bottom-banner",
                "outcome": outcome,
                "experiment_key": "winter-draft" if outcome == "shown" else None,
                "variant_key": "control" if outcome == "shown" else None,
                "country": "US",
                "device": "desktop",
                "language": "en",
                "section": "world",
                "tags": [],
                "article_views": n % 7,
                "supporter": outcome == "supporter",
                "sample_rate": 0.01,
            }
        )
    with live.engine.begin() as conn:
        conn.execute(insert(decision_log), rows)


def test_exports_decisions_and_dry_run_pages(
    page: Any, live: Services, live_server: str, screenshot: Callable[[str], None]
) -> None:
    now = datetime.now(UTC)
    live.users.create("editor@newsroom.example", PASSWORD, Role.editor, now)
    live.experiments.create(parse_experiment(experiment_doc("winter-draft")), "e2e", now)
    sign_in(page, live_server, "editor@newsroom.example")

    page.get_by_role("link", name="Exports").click()
    page.get_by_role("link", name="New schedule").click()
    page.get_by_label("Name (required)").fill("Finance weekly")
    page.get_by_role("button", name="Create schedule").click()
    page.get_by_text("Created the export schedule Finance weekly").wait_for()
    assert page.locator("#upcoming li").count() == 3
    screenshot("dashboard-export-schedule")
    assert _no_horizontal_scroll(page)

    _sampled_decisions(live, now)
    page.get_by_role("link", name="Why no banner").click()
    page.wait_for_url("**/dashboard/decisions")
    assert page.get_by_text("not targeted").count() + page.get_by_text("not_targeted").count() > 0
    screenshot("dashboard-decisions")
    assert _no_horizontal_scroll(page)

    page.goto(live_server + "/dashboard/experiments/winter-draft/edit")
    page.get_by_role("button", name="Estimate reach and duration").click()
    page.locator("#dry-run").wait_for()
    screenshot("dashboard-dry-run")
    assert page.console_errors == []  # type: ignore[attr-defined]
