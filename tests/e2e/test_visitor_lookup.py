"""The visitor lookup on "Why no banner", in a real browser: a reader's visitor id, taken from
the article page they saw, explains why they got no banner."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from service.domain.roles import Role
from service.wiring import Services
from tests.e2e.test_dashboard import PASSWORD, sign_in
from tests.e2e.test_dashboard_pages import _no_horizontal_scroll
from tests.e2e.test_snippet import banner, run_experiment, visitor_of

pytestmark = pytest.mark.e2e


def test_a_snoozed_reader_is_explained_by_visitor_id(
    page: Any, live: Services, live_server: str, screenshot: Callable[[str], None]
) -> None:
    run_experiment(live, key="everyone", priority=10)
    run_experiment(live, key="later", priority=1)
    page.goto(f"{live_server}/demo?placements=article-end")
    banner(page).wait_for()
    page.get_by_role("button", name="Not ready to support today? Remind me later.").click()
    visitor = visitor_of(page)
    snooze = live.keys.ledger(visitor)
    # The dismissal reaches the ledger through the event pipeline: wait for the snooze.
    deadline = datetime.now(UTC).timestamp() + 10
    while not live.redis.hget(snooze, "s:article-end"):
        assert datetime.now(UTC).timestamp() < deadline, "the snooze never reached the ledger"
        page.wait_for_timeout(100)

    live.users.create("viewer@newsroom.example", PASSWORD, Role.viewer, datetime.now(UTC))
    sign_in(page, live_server, "viewer@newsroom.example")
    page.goto(live_server + "/dashboard/decisions")
    page.get_by_label("Visitor id").fill(visitor)
    page.get_by_role("button", name="Look up").click()
    result = page.locator("#lookup-result")
    result.wait_for()
    assert "no banner, reason snoozed" in " ".join(result.inner_text().split())
    rows = page.locator("#lookup-trace tbody tr")
    assert rows.nth(0).inner_text().split() == ["everyone", "snoozed"]
    assert rows.nth(1).inner_text().startswith("later")
    assert "priority" in rows.nth(1).inner_text()
    screenshot("dashboard-visitor-lookup")
    assert _no_horizontal_scroll(page)
    assert page.console_errors == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("width", [1280, 375])
def test_the_lookup_asks_about_a_sport_article_in_german(
    page: Any, live: Services, live_server: str, screenshot: Callable[[str], None], width: int
) -> None:
    targeting = {"languages": ["de"], "sections": ["sport"]}
    run_experiment(live, key="german-sport", priority=10, targeting=targeting)
    live.users.create("viewer@newsroom.example", PASSWORD, Role.viewer, datetime.now(UTC))
    page.set_viewport_size({"width": width, "height": 800})
    sign_in(page, live_server, "viewer@newsroom.example")
    page.goto(live_server + "/dashboard/decisions")
    page.get_by_label("Visitor id").fill("reader-lookup-de-01")
    page.get_by_label("Language").fill("de-DE")
    page.get_by_label("Section").fill("politics")
    page.get_by_role("button", name="Look up").click()
    page.locator("#lookup-result").wait_for()
    assert page.locator("#lookup-trace tbody tr").nth(0).inner_text().split() == [
        "german-sport",
        "sections",
    ]

    page.get_by_label("Section").fill("sport")  # what was asked stays in the form
    assert page.get_by_label("Language").input_value() == "de-DE"
    page.get_by_role("button", name="Look up").click()
    result = page.locator("#lookup-result")
    result.wait_for()
    said = " ".join(result.inner_text().split())
    assert "language de, section sport" in said and "sees german-sport" in said

    page.get_by_label("Section").fill("Sport News!")
    page.get_by_role("button", name="Look up").click()
    error = page.locator("#section-error")
    error.wait_for()
    assert error.inner_text().startswith("Section: must be a slug")
    assert page.get_by_label("Section").get_attribute("aria-invalid") == "true"
    assert page.locator("#lookup-result").count() == 0
    assert _no_horizontal_scroll(page)
    if width == 1280:
        screenshot("dashboard-visitor-lookup-page-signals")
    assert page.console_errors == []  # type: ignore[attr-defined]
