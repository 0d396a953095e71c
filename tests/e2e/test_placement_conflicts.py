"""Issue 18 in a real browser at 1280 and 375 px: a draft made with the form's defaults ties
with a running experiment on article-end at priority 10, whose key sorts first; the list shows
both priorities and the Start confirmation warns before anyone starts it. Screenshots go to
test-artifacts/."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from service.domain.experiment import Status
from service.domain.roles import Role
from service.schemas.experiment import parse_experiment
from service.wiring import Services
from tests.e2e.layout import scrolls_sideways
from tests.e2e.test_dashboard import PASSWORD, sign_in
from tests.support import experiment_doc

pytestmark = pytest.mark.e2e
WIDTHS = ((1280, 900), (375, 800))


def test_the_start_confirmation_warns_of_a_tie_on_the_placement(
    page: Any, live: Services, live_server: str, screenshot: Callable[[str], None]
) -> None:
    now = datetime.now(UTC)
    live.users.create("editor@newsroom.example", PASSWORD, Role.editor, now)
    demo = live.experiments.create(
        parse_experiment(experiment_doc("demo-monthly-ask", priority=10)), "e2e", now
    )
    live.experiments.save(
        demo.experiment.with_status(Status.running), action="start", actor="e2e", now=now
    )
    live.experiments.create(parse_experiment(experiment_doc("my-test", priority=10)), "e2e", now)
    sign_in(page, live_server, "editor@newsroom.example")

    row = page.locator("tr", has=page.locator("code", has_text="my-test"))
    assert row.locator("td").nth(2).inner_text() == "10"  # status, placement, priority
    assert "demo-monthly-ask (priority 10) takes article-end first" in row.inner_text()

    page.goto(live_server + "/dashboard/experiments/my-test/start")
    warning = page.locator("#placement-conflicts")
    for width, height in WIDTHS:
        page.set_viewport_size({"width": width, "height": height})
        warning.scroll_into_view_if_needed()
        assert warning.is_visible()
        box = warning.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        text = warning.inner_text()
        assert "demo-monthly-ask (priority 10) is running on article-end" in text
        assert "“demo-monthly-ask” sorts before “my-test”" in text
        assert not scrolls_sideways(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    screenshot("dashboard-start-placement-conflict")

    # The warning informs; it does not stop anyone starting it.
    page.get_by_role("button", name="Yes, start it").click()
    page.get_by_text("is now running").wait_for()
    assert page.console_errors == []
