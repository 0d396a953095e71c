"""Shipping a winner from the results page in a real browser, at 1280 and 375 px: readers the
test had put on control get the shipped variant from /v1/decision at once, but the long-term
holdout, whose readers the "since shipping" part of the page then counts."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from service.domain.lifecycle import Action
from service.domain.roles import Role
from service.jobs.flusher import Flusher
from service.schemas.experiment import parse_experiment
from service.store.redis.event_streams import PartitionedStreams
from service.store.sql.event_writer import EventWriter
from service.store.sql.experiment_tables import experiment_revisions
from service.usecases import change_experiment as changes
from service.wiring import Services
from tests.e2e.layout import scrolls_sideways
from tests.e2e.test_dashboard import PASSWORD, sign_in
from tests.support import experiment_doc

pytestmark = pytest.mark.e2e

READERS = [f"reader-{i:06d}" for i in range(30)]


def _banner(page: Any, base: str, visitor: str) -> Any:
    response = page.request.get(
        f"{base}/v1/decision",
        params={"visitor": visitor, "placement": "article-end"},
        headers={"CF-IPCountry": "US"},
    )
    assert response.ok, response.text()
    return response.json()["banner"]


def _variant(page: Any, base: str, visitor: str) -> str | None:
    banner = _banner(page, base, visitor)
    return banner["variant"] if banner else None


def _figures(page: Any, selector: str) -> str:
    return re.sub(r"\s+", " ", page.locator(selector).inner_text())


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
    page.get_by_label("Long-term holdout (%)").fill("20")
    page.get_by_role("button", name="Ship this variant").click()
    page.locator("#shipped-note").wait_for()
    assert "five-dollars" in page.locator("#shipped-note").inner_text()
    assert page.get_by_role("button", name="Unship five-dollars").is_visible()
    # Nobody counted yet: readers count from the first whole hour after the ship.
    assert "Exposed visitors 0 0" in _figures(page, "#since-shipping-table")
    overflow = scrolls_sideways(page)
    assert not overflow
    screenshot(f"dashboard-shipped-from-{width}")

    after = {visitor: _variant(page, live_server, visitor) for visitor in on_control}
    assert set(after.values()) <= {"five-dollars", None} and "five-dollars" in after.values()

    # An hour and more later (the ship's revision moved back two hours), new readers come:
    # those shown the banner send its impression, the held-out ones are counted by their
    # decision alone; the flusher writes both.
    with live.engine.begin() as conn:
        conn.execute(
            update(experiment_revisions)
            .where(experiment_revisions.c.action == "ship")
            .values(created_at=now - timedelta(hours=2))
        )
    # The test's control readers held out above were never shown a banner: counted too.
    shown, held_out = 0, sum(seen is None for seen in after.values())
    for i in range(40):
        banner = _banner(page, live_server, f"after-ship-{i:04d}")
        if banner is None:
            held_out += 1
            continue
        shown += 1
        impression = {"id": str(uuid.uuid4()), "type": "impression", "token": banner["token"]}
        sent = page.request.post(f"{live_server}/v1/events", data={"events": [impression]})
        assert sent.ok, sent.text()
    assert held_out and shown
    Flusher(
        PartitionedStreams(live.redis, live.keys, "e2e-flusher"), EventWriter(live.engine)
    ).run_once()

    page.reload()
    section = page.locator("#since-shipping")
    section.scroll_into_view_if_needed()
    assert "Since shipping: five-dollars against the holdout" in section.inner_text()
    assert f"Exposed visitors {held_out} {shown}" in _figures(page, "#since-shipping-table")
    assert page.locator("#since-shipping-lift").is_visible()
    assert not scrolls_sideways(page)
    screenshot(f"dashboard-since-shipping-{width}")
    assert page.console_errors == []  # type: ignore[attr-defined]
