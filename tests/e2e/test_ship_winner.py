"""Shipping a winner from the results page in a real browser, at 1280 and 375 px: readers the
test had put on control get the shipped variant from /v1/decision at once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from service.domain.lifecycle import Action
from service.domain.roles import Role
from service.schemas.experiment import parse_experiment
from service.usecases import change_experiment as changes
from service.wiring import Services
from tests.e2e.layout import scrolls_sideways
from tests.e2e.test_dashboard import PASSWORD, sign_in
from tests.support import experiment_doc

pytestmark = pytest.mark.e2e

READERS = [f"reader-{i:06d}" for i in range(30)]


def _variant(page: Any, base: str, visitor: str) -> str | None:
    response = page.request.get(
        f"{base}/v1/decision",
        params={"visitor": visitor, "placement": "article-end"},
        headers={"CF-IPCountry": "US"},
    )
    assert response.ok, response.text()
    banner = response.json()["banner"]
    return banner["variant"] if banner else None


@pytest.mark.parametrize("width,height", [(1280, 900), (375, 800)])
def test_ship_a_winner_from_the_results_page(
    page: Any,
    live: Services,
    live_server: str,
    screenshot: Callable[[str], None],
    width: int,
    height: int,
) -> None:
    now = datetime.now(UTC)
    live.users.create("editor@newsroom.example", PASSWORD, Role.editor, now)
    draft = live.experiments.create(parse_experiment(experiment_doc()), "e2e", now)
    changes.apply_action(live, draft, Action.start, actor="e2e", expected_revision=None)
    before = {visitor: _variant(page, live_server, visitor) for visitor in READERS}
    on_control = [visitor for visitor, seen in before.items() if seen == "control"]
    assert on_control, before

    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, live_server, "editor@newsroom.example")
    page.goto(live_server + "/dashboard/experiments/monthly-ask")
    page.get_by_label("Variant to ship").select_option("five-dollars")
    page.get_by_label("Long-term holdout (%)").fill("0")
    page.get_by_role("button", name="Ship this variant").click()
    page.locator("#shipped-note").wait_for()
    assert "five-dollars" in page.locator("#shipped-note").inner_text()
    assert page.get_by_role("button", name="Unship five-dollars").is_visible()
    overflow = scrolls_sideways(page)
    assert not overflow
    screenshot(f"dashboard-shipped-from-{width}")

    assert {_variant(page, live_server, visitor) for visitor in on_control} == {"five-dollars"}
    assert page.console_errors == []  # type: ignore[attr-defined]
