"""Export times in the viewer's own time zone: the server writes "7 Dec 2026, 06:00 UTC" in a
<time> element, and local_time.js rewrites it for the browser's zone (here Asia/Kolkata,
UTC+5:30, so that both the hour and the minutes move)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from service.domain.roles import Role
from service.wiring import Services
from tests.e2e.conftest import USER_AGENT
from tests.e2e.test_dashboard import PASSWORD, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def kolkata_page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        user_agent=USER_AGENT,
        timezone_id="Asia/Kolkata",
        locale="en-GB",
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert errors == []


def test_export_times_read_in_the_viewers_zone_with_the_exact_instant_kept(
    kolkata_page: Any, live: Services, live_server: str
) -> None:
    page = kolkata_page
    live.users.create("editor@newsroom.example", PASSWORD, Role.editor, datetime.now(UTC))
    sign_in(page, live_server, "editor@newsroom.example")
    page.goto(live_server + "/dashboard/exports/new")
    page.get_by_label("Name (required)").fill("Finance weekly")  # Mondays 06:00 UTC
    page.get_by_role("button", name="Create schedule").click()
    page.get_by_text("Created the export schedule Finance weekly").wait_for()

    first = page.locator("#upcoming time").first
    assert first.get_attribute("datetime").endswith("T06:00:00Z")
    assert "11:30" in first.inner_text()  # 06:00 UTC in India
    assert "UTC" not in first.inner_text()

    page.get_by_role("link", name="All schedules").click()
    listed = page.locator("#exports-table time").first
    assert listed.get_attribute("datetime").endswith("T06:00:00Z")
    assert "11:30" in listed.inner_text()
