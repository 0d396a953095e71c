"""QA in a headless browser: after opening a preview link, "remind me later" on an ordinary
article page holds, though the browser says HeadlessChrome (a bot to the event filter), and
nothing it does is counted."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from service.wiring import Services
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_snippet import banner, run_experiment, visitor_of
from tests.support import experiment_doc, live_counts

pytestmark = pytest.mark.e2e
NOTICE = "QA session: your actions work but are not counted."


@pytest.fixture
def headless_page(browser: Any) -> Iterator[Any]:
    """A page with headless Chromium's own User-Agent, as a QA script would have."""
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    yield page
    context.close()


def test_a_preview_link_makes_dismissals_stick_in_a_headless_browser(
    live: Services, live_server: str, headless_page: Any
) -> None:
    page = headless_page
    assert "HeadlessChrome" in page.evaluate("navigator.userAgent")
    run_experiment(live)
    token = live.signer.preview("monthly-ask", "control", int(time.time()) + 3600)
    page.goto(f"{live_server}/demo?placements=article-end&sf_preview={token}")
    banner(page).wait_for()
    assert NOTICE in banner(page).inner_text()
    assert page.get_by_role("status").filter(has_text=NOTICE).is_visible()

    page.goto(f"{live_server}/demo?placements=article-end")
    box = banner(page)
    box.wait_for()
    assert NOTICE in box.inner_text()  # the session is still QA without the link
    page.get_by_role("button", name="Not ready to support today? Remind me later.").click()
    ledger = live.keys.ledger(visitor_of(page))
    deadline = time.monotonic() + 10
    while not live.redis.hget(ledger, "s:article-end"):
        assert time.monotonic() < deadline, "the dismissal never reached the ledger"
        page.wait_for_timeout(100)
    page.reload()
    page.wait_for_load_state("networkidle")
    assert banner(page).count() == 0
    # No banner, yet the page still says it is a QA session, until told to hide it.
    notice = page.get_by_role("status").filter(has_text=NOTICE)
    notice.wait_for()
    assert notice.is_visible() and notice.inner_text().startswith(NOTICE)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "qa-notice-without-banner-375.png"))
    page.get_by_role("button", name="Hide").click()
    notice.wait_for(state="detached")
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    assert live_counts(live.redis, live.keys, "monthly-ask", day) == {}
    assert page.errors == []


def test_the_qa_notice_stays_under_a_bottom_banner_and_off_ordinary_sessions(
    live: Services, live_server: str, headless_page: Any, browser: Any
) -> None:
    page = headless_page
    doc = experiment_doc(placement="bottom-banner")
    for variant in doc["variants"]:
        variant["banner"]["template"] = "bottom-banner"
    run_experiment(live, placement="bottom-banner", variants=doc["variants"])
    token = live.signer.preview("monthly-ask", "control", int(time.time()) + 3600)
    page.goto(f"{live_server}/demo?placements=bottom-banner&sf_preview={token}")
    box = banner(page, "bottom-banner")
    box.wait_for()
    notice = page.locator("small-favor[data-smallfavor-qa]").get_by_role("status")
    notice.wait_for()
    # Where the notice sits, the banner is on top: the notice never covers the banner.
    corner = notice.bounding_box()
    on_top = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).getAttribute('data-smallfavor-banner')",
        [corner["x"] + corner["width"] / 2, corner["y"] + corner["height"] / 2],
    )
    assert on_top == "bottom-banner"
    page.get_by_role("button", name="Close").click()
    box.wait_for(state="detached")
    assert notice.is_visible()  # the banner gone, the page still says QA

    ordinary = browser.new_context(viewport={"width": 375, "height": 800}).new_page()
    ordinary.goto(f"{live_server}/demo?placements=bottom-banner")
    banner(ordinary, "bottom-banner").wait_for()
    assert ordinary.locator("small-favor[data-smallfavor-qa]").count() == 0
    ordinary.context.close()
    assert page.errors == []
