"""The appeal readers see: the snippet on the demo article page, in a real browser."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from service.domain.experiment import Status
from service.schemas.experiment import parse_experiment
from service.store.redis import config_version
from service.wiring import Services
from tests.support import experiment_doc, stream_entries, stream_length

pytestmark = pytest.mark.e2e
SNIPPET = Path(__file__).resolve().parents[2] / "service/snippet/snippet.js"


def run_experiment(svc: Services, **overrides: Any) -> dict[str, Any]:
    doc = experiment_doc(**{"targeting": {}, **overrides})
    for variant in doc["variants"]:
        variant["banner"]["cta"]["url"] = f"{svc.settings.public_url}/demo/donate"
    now = datetime.now(UTC)
    stored = svc.experiments.create(parse_experiment(doc), "e2e", now)
    svc.experiments.save(
        stored.experiment.with_status(Status.running), action="start", actor="e2e", now=now
    )
    config_version.bump(svc.redis, svc.keys)
    return doc


def banner(page: Any, placement: str = "article-end") -> Any:
    return page.locator(f'small-favor[data-smallfavor-banner="{placement}"] section')


def visitor_of(page: Any) -> str:
    return str(page.evaluate("localStorage.getItem('sf_visitor')"))


def events_of(svc: Services, visitor: str) -> list[dict[str, str]]:
    entries = stream_entries(svc.redis, svc.keys)
    return [fields for _, fields in entries if fields.get("u") == visitor]


def wait_for_events(
    svc: Services, visitor: str, types: set[str], timeout: float = 10
) -> list[dict[str, str]]:
    deadline = time.monotonic() + timeout
    while True:
        found = events_of(svc, visitor)
        if types <= {e["t"] for e in found} or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_the_assigned_variant_renders_and_is_seen(
    live: Services, live_server: str, page: Any, screenshot: Callable[[str], None]
) -> None:
    run_experiment(live)
    page.goto(f"{live_server}/demo?placements=article-end")
    box = banner(page)
    box.wait_for()
    assert "…we have a small favor to ask" in box.inner_text()
    visitor = visitor_of(page)
    variant = live.redis.hget(live.keys.ledger(visitor), "a:monthly-ask")
    # The copy names the amount the banner opens on: the second of the monthly amounts.
    expected = "$5" if variant == "control" else "$10"
    assert f"Support us with {expected} a month." in box.inner_text()
    assert box.get_by_role("button", name=expected, exact=True).get_attribute("aria-pressed") == (
        "true"
    )
    box.scroll_into_view_if_needed()
    found = wait_for_events(live, visitor, {"impression", "view"})
    assert {"impression", "view"} <= {e["t"] for e in found}
    assert {e["v"] for e in found} == {variant}
    screenshot("epic")
    assert page.console_errors == []


def test_remind_me_later_hides_it_and_it_stays_hidden(
    live: Services, live_server: str, page: Any
) -> None:
    run_experiment(live)
    page.goto(f"{live_server}/demo?placements=article-end")
    banner(page).wait_for()
    page.get_by_role("button", name="Not ready to support today? Remind me later.").click()
    assert banner(page).count() == 0
    visitor = visitor_of(page)
    found = wait_for_events(live, visitor, {"dismiss"})
    assert [e.get("r") for e in found if e["t"] == "dismiss"] == ["remind_later"]
    page.reload()
    page.wait_for_load_state("networkidle")
    assert banner(page).count() == 0


def test_bottom_banner_closes_with_the_button_and_with_escape(
    live: Services, live_server: str, page: Any, screenshot: Callable[[str], None]
) -> None:
    doc = experiment_doc(key="sticky", placement="bottom-banner", targeting={})
    for variant in doc["variants"]:
        variant["banner"]["template"] = "bottom-banner"
    run_experiment(live, **{k: v for k, v in doc.items() if k != "targeting"})
    page.goto(f"{live_server}/demo?placements=bottom-banner")
    box = banner(page, "bottom-banner")
    box.wait_for()
    assert box.evaluate("e => getComputedStyle(e).position") == "fixed"
    screenshot("bottom-banner")
    page.get_by_role("button", name="Close").click()
    assert banner(page, "bottom-banner").count() == 0
    visitor = visitor_of(page)
    assert "close" in [e.get("r") for e in wait_for_events(live, visitor, {"dismiss"})]
    # A new reader, and Escape this time.
    page.evaluate("localStorage.clear()")
    page.reload()
    banner(page, "bottom-banner").wait_for()
    page.keyboard.press("Escape")
    assert banner(page, "bottom-banner").count() == 0


def test_cta_click_carries_the_decision_and_completes_a_donation(
    live: Services, live_server: str, page: Any
) -> None:
    run_experiment(live)
    page.goto(f"{live_server}/demo?placements=article-end")
    box = banner(page)
    box.wait_for()
    visitor = visitor_of(page)
    variant = live.redis.hget(live.keys.ledger(visitor), "a:monthly-ask")
    box.get_by_role("button", name="One-off").click()
    box.get_by_role("button", name="$25").click()
    box.get_by_role("link", name="Give $25 once").click()
    page.wait_for_url("**/demo/donate**")
    params = parse_qs(urlparse(page.url).query)
    assert params["sf_experiment"] == ["monthly-ask"]
    assert params["sf_variant"] == [variant]
    assert params["amount"] == ["25"] and params["frequency"] == ["one_off"]
    # What Stripe Payment Links pass to the webhook's Checkout Session as the reader.
    assert params["client_reference_id"] == [visitor]
    assert (
        live.signer.verify_decision(params["sf_token"][0], int(time.time()), 3600).visitor
        == visitor
    )
    assert "click" in {e["t"] for e in wait_for_events(live, visitor, {"click"})}
    page.get_by_role("button", name="Pay", exact=True).click()
    assert "Thank you" in page.inner_text("h1")
    assert "monthly-ask" in page.inner_text("main")
    conversions = [e for e in events_of(live, visitor) if e["t"] == "conversion"]
    assert [(c["s"], c["am"], c["f"]) for c in conversions] == [("webhook", "2500", "one_off")]
    # What Stripe sends later, played from the stand-in: a one-off gift can only be refunded.
    assert page.get_by_role("button", name="Cancel the recurring gift").count() == 0
    page.get_by_role("button", name="Refund the first payment").click()
    assert "charge.refunded applied" in page.inner_text("main")
    refunds = [e for e in events_of(live, visitor) if e["t"] == "refund"]
    assert [(r["s"], r["am"]) for r in refunds] == [("webhook", "-2500")]


@pytest.mark.parametrize("width", [1280, 375])
@pytest.mark.parametrize("placement", ["article-end", "bottom-banner"])
def test_the_button_names_the_frequency_and_amount_the_reader_chose(
    live: Services, live_server: str, page: Any, placement: str, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    doc = experiment_doc(placement=placement, targeting={})
    for variant in doc["variants"]:
        variant["banner"]["template"] = "epic" if placement == "article-end" else placement
    run_experiment(live, **{k: v for k, v in doc.items() if k != "targeting"})
    page.goto(f"{live_server}/demo?placements={placement}")
    box = banner(page, placement)
    box.wait_for()
    variant = live.redis.hget(live.keys.ledger(visitor_of(page)), "a:monthly-ask")
    opened = "$5" if variant == "control" else "$10"  # monthly 2, 5, 10 or 5, 10, 20
    cta = box.locator("a.cta")
    assert cta.inner_text() == f"Give {opened} a month"
    box.get_by_role("button", name="One-off").click()
    assert cta.inner_text() == "Give $10 once"  # one-off 5, 10, 25 opens on its second
    box.get_by_role("button", name="$25", exact=True).click()
    assert cta.inner_text() == "Give $25 once"
    link = parse_qs(urlparse(cta.get_attribute("href")).query)
    assert link["amount"] == ["25"] and link["frequency"] == ["one_off"]
    assert link["sf_variant"] == [variant]
    # The whole label is on screen, narrow or wide.
    cta.scroll_into_view_if_needed()
    shown = cta.bounding_box()
    assert shown is not None and shown["x"] >= 0 and shown["x"] + shown["width"] <= width
    box.get_by_role("button", name="Monthly").click()
    assert cta.inner_text() == f"Give {opened} a month"
    assert parse_qs(urlparse(cta.get_attribute("href")).query)["frequency"] == ["monthly"]
    assert page.console_errors == []


def test_hostile_banner_text_shows_as_text(live: Services, live_server: str, page: Any) -> None:
    doc = experiment_doc(targeting={})
    for variant in doc["variants"]:
        variant["banner"]["heading"] = "<img src=x onerror=window.__pwned=1>Give now"
    run_experiment(live, variants=doc["variants"])
    page.goto(f"{live_server}/demo?placements=article-end")
    box = banner(page)
    box.wait_for()
    assert box.locator("h2").inner_text() == "<img src=x onerror=window.__pwned=1>Give now"
    assert box.locator("img").count() == 0
    assert page.evaluate("window.__pwned") is None


def test_aggressive_page_css_does_not_break_the_banner(
    live: Services, live_server: str, page: Any, screenshot: Callable[[str], None]
) -> None:
    run_experiment(live)
    page.goto(f"{live_server}/demo?placements=article-end&hostile_css=1")
    box = banner(page)
    box.wait_for()
    heading = box.locator("h2")
    assert heading.evaluate("e => getComputedStyle(e).color") == "rgb(18, 18, 18)"
    assert "Comic" not in heading.evaluate("e => getComputedStyle(e).fontFamily")
    cta = box.locator("a.cta")
    assert cta.evaluate("e => getComputedStyle(e).display") == "inline-block"
    assert cta.bounding_box()["height"] >= 40
    screenshot("hostile-css")


class _SlowService(http.server.BaseHTTPRequestHandler):
    """A page and the snippet, served by a 'service' whose decisions hang or fail."""

    mode = "slow"

    def do_GET(self) -> None:
        if self.path.startswith("/v1/decision"):
            if self.mode == "slow":
                time.sleep(4)
            self.send_response(503)
            self.end_headers()
            return
        body = (
            SNIPPET.read_bytes()
            if self.path.startswith("/snippet.js")
            else b'<!doctype html><html lang="en"><body><h1>Story</h1><p>Text.</p>'
            b'<script async src="/snippet.js" data-placement="article-end bottom-banner">'
            b"</script></body></html>"
        )
        self.send_response(200)
        self.send_header(
            "Content-Type",
            "application/javascript" if self.path.startswith("/snippet") else "text/html",
        )
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(params=["slow", "failing"])
def broken_service(request: Any) -> Iterator[str]:
    handler = type("Handler", (_SlowService,), {"mode": request.param})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_slow_or_failing_service_leaves_the_page_intact(
    browser: Any, broken_service: str
) -> None:
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    began = time.monotonic()
    page.goto(broken_service + "/")
    assert page.inner_text("h1") == "Story"
    assert time.monotonic() - began < 3  # the page never waits for the decision
    page.wait_for_timeout(2000)  # past the snippet's 1.5 s deadline
    assert page.locator("small-favor").count() == 0
    assert errors == []
    context.close()


def test_nothing_happens_before_consent(live: Services, live_server: str, page: Any) -> None:
    run_experiment(live)
    page.goto(f"{live_server}/demo?placements=article-end&consent=0")
    page.wait_for_load_state("networkidle")
    assert banner(page).count() == 0
    assert page.evaluate("localStorage.getItem('sf_visitor')") is None
    assert stream_length(live.redis, live.keys) == 0
    page.evaluate("window.smallFavor.grantConsent()")
    banner(page).wait_for()
    visitor = visitor_of(page)
    assert "impression" in {e["t"] for e in wait_for_events(live, visitor, {"impression"})}


def test_article_views_are_counted_on_the_device(
    live: Services, live_server: str, page: Any
) -> None:
    run_experiment(live, targeting={"min_article_views": 3})
    for _ in range(2):
        page.goto(f"{live_server}/demo?placements=article-end")
        page.wait_for_load_state("networkidle")
        assert banner(page).count() == 0
    page.goto(f"{live_server}/demo?placements=article-end")
    banner(page).wait_for()
