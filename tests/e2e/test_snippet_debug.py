"""?sf_debug=1 on an article page: an overlay says what the service decided and why."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from service.wiring import Services
from tests.e2e.test_snippet import banner, run_experiment

pytestmark = pytest.mark.e2e


def overlay(page: Any) -> Any:
    return page.locator("small-favor[data-smallfavor-debug] section")


@pytest.mark.parametrize("width", [1280, 375])
def test_debug_overlay_names_the_rule_that_ruled_each_experiment_out(
    live: Services, live_server: str, page: Any, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    # No geo header reaches the live server, so a country rule rules the reader out.
    run_experiment(live, key="uk-only", priority=50, targeting={"countries": ["GB"]})
    page.goto(f"{live_server}/demo?placements=article-end&sf_debug=1")
    box = overlay(page)
    box.wait_for()
    text = box.inner_text()
    assert "article-end: no banner, reason not_targeted" in text
    assert "uk-only: ruled out by countries" in text
    assert banner(page).count() == 0
    # The overlay fits the screen, also on a phone.
    shape = box.bounding_box()
    assert shape is not None and shape["x"] >= 0 and shape["x"] + shape["width"] <= width
    assert page.console_errors == []


def test_debug_overlay_names_the_banner_shown(
    live: Services, live_server: str, page: Any, screenshot: Callable[[str], None]
) -> None:
    run_experiment(live, key="uk-only", priority=50, targeting={"countries": ["GB"]})
    run_experiment(live, key="everyone", priority=1)
    page.goto(f"{live_server}/demo?placements=article-end&sf_debug=1")
    banner(page).wait_for()
    text = overlay(page).inner_text()
    assert "article-end: shown everyone / " in text
    assert "uk-only: ruled out by countries" in text
    assert "everyone: passed every rule" in text
    screenshot("sf-debug")


def test_no_overlay_without_sf_debug(live: Services, live_server: str, page: Any) -> None:
    run_experiment(live)
    page.goto(f"{live_server}/demo?placements=article-end")
    banner(page).wait_for()
    assert page.locator("small-favor[data-smallfavor-debug]").count() == 0
