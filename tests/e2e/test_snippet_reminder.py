"""The reminder offer readers see: "remind me later" opens a small form in the banner that asks
for a time and an e-mail address and posts them to POST /v1/reminders. The endpoint itself is
faked here with Playwright's routing, so these tests pin what the snippet sends and how it
answers each kind of reply; the service's side has its own tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from service.wiring import Services
from tests.e2e.layout import scrolls_sideways
from tests.e2e.test_snippet import banner, run_experiment, visitor_of, wait_for_events
from tests.support import experiment_doc

pytestmark = pytest.mark.e2e
LATER = "Not ready to support today? Remind me later."
OFFER = {
    "choices": [
        {"label": "In 2 weeks", "in_days": 14},
        {"label": "Next month", "next_month": True},
        {"label": "On 1 February", "on": "2027-02-01"},
    ],
    "consent": "We will e-mail you once, then delete your address. <b>Really</b>.",
    "privacy_url": "https://news.example.org/privacy",
    "submit_label": "Remind me",
    "thanks": "Thank you. Please confirm through the e-mail we just sent you.",
}


def offer_everywhere(live: Services, **offer: Any) -> None:
    doc = experiment_doc(targeting={})
    for variant in doc["variants"]:
        variant["banner"]["reminder"] = {**OFFER, **offer}
    run_experiment(live, variants=doc["variants"])


class FakeReminders:
    """Answers POST /v1/reminders as told and keeps what the snippet sent."""

    def __init__(self, page: Any) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.content_types: list[str] = []
        self.replies: list[tuple[int, dict[str, Any]] | None] = []  # None: the network fails
        page.route("**/v1/reminders", self._answer)

    def _answer(self, route: Any) -> None:
        request = route.request
        self.bodies.append(json.loads(request.post_data))
        self.content_types.append(request.headers.get("content-type", ""))
        reply = self.replies.pop(0)
        if reply is None:
            route.abort("connectionfailed")
            return
        status, body = reply
        route.fulfill(status=status, content_type="application/json", body=json.dumps(body))


def token_from_decision(page: Any, live_server: str) -> str:
    with page.expect_response(lambda r: "/v1/decision" in r.url) as answer:
        page.goto(f"{live_server}/demo?placements=article-end")
    return str(answer.value.json()["banner"]["token"])


@pytest.mark.parametrize("width", [1280, 375])
def test_a_reader_signs_up_with_the_keyboard_and_sees_the_thanks(
    live: Services,
    live_server: str,
    page: Any,
    width: int,
    screenshot: Callable[[str], None],
) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    offer_everywhere(live)
    fake = FakeReminders(page)
    fake.replies.append((202, {"reminder": "r1", "status": "pending", "snoozed_until": "x"}))
    token = token_from_decision(page, live_server)
    box = banner(page)
    box.wait_for()
    box.get_by_role("button", name=LATER).focus()
    page.keyboard.press("Enter")

    # The form opens in place, focus on the first choice, which is selected.
    first = box.get_by_role("radio", name="In 2 weeks")
    assert first.is_checked()
    assert first.evaluate("e => e.getRootNode().activeElement === e")
    assert box.get_by_role("group", name="When should we remind you?").is_visible()
    email = box.get_by_role("textbox", name="Your e-mail address")
    assert email.get_attribute("type") == "email"
    assert email.get_attribute("autocomplete") == "email"
    # The newsroom's sentence is text (no markup), and describes the address field.
    consent = box.locator("#sf-consent")
    assert consent.inner_text() == OFFER["consent"]
    assert box.locator("b").count() == 0
    assert email.get_attribute("aria-describedby") == "sf-consent"
    privacy = box.get_by_role("link", name="Privacy notice (opens in a new tab)")
    assert privacy.get_attribute("href") == OFFER["privacy_url"]
    assert privacy.get_attribute("rel") == "noopener"
    assert not scrolls_sideways(page)
    if width == 1280:
        screenshot("reminder-offer")
    assert axe_violations(page) == []

    # Arrow keys pick a choice, Tab reaches the address, Enter sends.
    page.keyboard.press("ArrowDown")
    assert box.get_by_role("radio", name="Next month").is_checked()
    page.keyboard.press("Tab")
    assert email.evaluate("e => e.getRootNode().activeElement === e")
    page.keyboard.type("reader@example.org")
    page.keyboard.press("Enter")

    status = box.get_by_role("status")
    status.wait_for()
    assert status.inner_text() == OFFER["thanks"]
    [sent] = fake.bodies
    assert sent["token"] == token and sent["email"] == "reader@example.org"
    expected = page.evaluate(
        "() => { const d = new Date(); return new Date(d.getFullYear(), d.getMonth() + 1, 1, 9)"
        ".toISOString(); }"
    )
    assert sent["remind_at"] == expected
    assert fake.content_types == ["text/plain"]  # a simple request: no CORS preflight
    # Signing up is no dismissal: the service snoozed the banner itself.
    visitor = visitor_of(page)
    page.get_by_role("button", name="Close").click()
    assert banner(page).count() == 0
    assert "dismiss" not in {e["t"] for e in wait_for_events(live, visitor, {"impression"})}
    assert page.console_errors == []


def axe_violations(page: Any, within: str | None = None) -> list[str]:
    """axe-core's findings on the page (or the part `within` selects), open shadow roots
    included."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, context=within)
    return [f"{v['id']}: {v['help']}" for v in results.response["violations"]]


def test_the_days_choices_become_instants_in_the_readers_calendar(
    live: Services, live_server: str, page: Any
) -> None:
    offer_everywhere(live)
    fake = FakeReminders(page)
    fake.replies += [(202, {}), (202, {})]
    for choice in ("In 2 weeks", "On 1 February"):
        if fake.bodies:  # a new reader, whom the first sign-up did not snooze
            page.evaluate("localStorage.clear()")
        token_from_decision(page, live_server)
        box = banner(page)
        box.get_by_role("button", name=LATER).click()
        box.get_by_role("radio", name=choice).check()
        box.get_by_role("textbox", name="Your e-mail address").fill("reader@example.org")
        box.get_by_role("button", name="Remind me").click()
        box.get_by_role("status").wait_for()
    in_two_weeks, on_a_date = (body["remind_at"] for body in fake.bodies)
    # Fourteen calendar days from now (the time of day kept), and 09:00 on the day chosen.
    gap_ms = page.evaluate(
        "sent => { const d = new Date(); d.setDate(d.getDate() + 14); "
        "return d.getTime() - Date.parse(sent); }",
        in_two_weeks,
    )
    assert 0 <= gap_ms < 60_000
    assert on_a_date == page.evaluate("() => new Date(2027, 1, 1, 9).toISOString()")


def test_errors_land_beside_the_field_and_a_failure_offers_the_plain_snooze(
    live: Services, live_server: str, page: Any
) -> None:
    offer_everywhere(live)
    fake = FakeReminders(page)
    fake.replies += [
        (
            422,
            {
                "error": {
                    "code": "invalid",
                    "message": "The reminder was refused.",
                    "fields": {"email": "must be an e-mail address"},
                }
            },
        ),
        (429, {"error": {"code": "rate_limited", "message": "Too many sign-ups; try later."}}),
        None,
    ]
    token_from_decision(page, live_server)
    box = banner(page)
    box.get_by_role("button", name=LATER).click()
    email = box.get_by_role("textbox", name="Your e-mail address")
    email.fill("not-an-address")
    box.get_by_role("button", name="Remind me").click()

    mistake = box.locator("#sf-email-msg")
    mistake.wait_for()
    assert mistake.inner_text() == "must be an e-mail address"
    assert email.get_attribute("aria-invalid") == "true"
    assert email.get_attribute("aria-describedby") == "sf-email-msg sf-consent"
    assert email.evaluate("e => e.getRootNode().activeElement === e")
    assert axe_violations(page) == []

    # Rate-limited: the service's sentence below the buttons; the address is fine again.
    email.fill("reader@example.org")
    box.get_by_role("button", name="Remind me").click()
    limited = box.get_by_text("Too many sign-ups; try later.")
    limited.wait_for()
    assert email.get_attribute("aria-invalid") is None
    assert box.locator("#sf-email-msg").count() == 0

    # The network fails: say so, and offer the plain snooze.
    box.get_by_role("button", name="Remind me").click()
    box.get_by_text("Sorry, your reminder could not be saved.").wait_for()
    assert [b["email"] for b in fake.bodies] == ["not-an-address", *["reader@example.org"] * 2]
    visitor = visitor_of(page)
    box.get_by_role("button", name="Just snooze it").click()
    assert banner(page).count() == 0
    found = wait_for_events(live, visitor, {"dismiss"})
    assert [e.get("r") for e in found if e["t"] == "dismiss"] == ["remind_later"]


def test_closing_the_offer_without_signing_up_is_the_plain_snooze(
    live: Services, live_server: str, page: Any
) -> None:
    offer_everywhere(live)
    fake = FakeReminders(page)
    token_from_decision(page, live_server)
    box = banner(page)
    box.get_by_role("button", name=LATER).click()
    box.get_by_role("radio", name="In 2 weeks").wait_for()
    page.keyboard.press("Escape")
    assert banner(page).count() == 0
    visitor = visitor_of(page)
    found = wait_for_events(live, visitor, {"dismiss"})
    assert [e.get("r") for e in found if e["t"] == "dismiss"] == ["remind_later"]
    assert fake.bodies == []


def test_a_date_that_has_passed_is_not_offered(live: Services, live_server: str, page: Any) -> None:
    # The service refuses an instant less than an hour ahead: a fixed date the newsroom chose
    # may have passed since, and a reader must not be offered what can only fail.
    past = {"label": "On 1 February 2020", "on": "2020-02-01"}
    offer_everywhere(live, choices=[past, {"label": "In 2 weeks", "in_days": 14}])
    fake = FakeReminders(page)
    token_from_decision(page, live_server)
    box = banner(page)
    box.get_by_role("button", name=LATER).click()
    only = box.get_by_role("radio", name="In 2 weeks")
    only.wait_for()
    assert only.is_checked()
    assert box.get_by_role("radio").count() == 1
    assert fake.bodies == []


def test_with_every_date_passed_remind_me_later_is_the_plain_snooze(
    live: Services, live_server: str, page: Any
) -> None:
    offer_everywhere(live, choices=[{"label": "On 1 February 2020", "on": "2020-02-01"}])
    fake = FakeReminders(page)
    token_from_decision(page, live_server)
    banner(page).get_by_role("button", name=LATER).click()
    assert banner(page).count() == 0
    visitor = visitor_of(page)
    found = wait_for_events(live, visitor, {"dismiss"})
    assert [e.get("r") for e in found if e["t"] == "dismiss"] == ["remind_later"]
    assert fake.bodies == []
