"""Issue 19's whole path in Chromium, the three parts together (snippet, service, report): a
reader chooses "in 2 weeks" and leaves an e-mail address, confirms through the link of the
message a real SMTP relay (aiosmtpd) received, and is snoozed meanwhile; two weeks later on a
controlled clock the scheduler's job sends the reminder once, the reader follows its link to
the donation page, the payment side's signed webhook reports the gift, and the report and the
results page count it as a donation after a reminder.

The session's gunicorn runs on the real clock, so this test serves its own app, in-process on
a FakeClock (started at the real now, so the browser's own timestamps fit), with werkzeug.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import WSGIRequestHandler, make_server

from service.api.public.payment_webhook import sign
from service.domain.roles import Role
from service.jobs.flusher import open_flusher
from service.jobs.reminders import ReminderJob
from service.settings import Settings
from service.wiring import Services
from tests.e2e.layout import scrolls_sideways
from tests.e2e.test_dashboard import PASSWORD, sign_in
from tests.e2e.test_snippet import banner, visitor_of
from tests.functional.reminders_support import KEY, MESSAGE, Inbox, offering_doc, start, text_of
from tests.support import FakeClock, free_port

pytestmark = pytest.mark.e2e
Auth = Callable[[str], dict[str, str]]
LATER = "Not ready to support today? Remind me later."
THANKS = "Thank you. Please confirm through the e-mail we just sent you."
ADDRESS = "reader@example.org"
MAIL_DEADLINE_S = 120.0  # only a hung relay comes near it: the loop returns on arrival


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def web_port() -> int:
    return free_port()


@pytest.fixture
def env(env: dict[str, str], smtp_port: int, web_port: int) -> dict[str, str]:
    return {
        **env,
        "PUBLIC_URL": f"http://127.0.0.1:{web_port}",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SMTP_SECURITY": "none",
        "RATE_LIMIT_PER_MINUTE": "0",
        "LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC))


@pytest.fixture
def inbox(smtp_port: int) -> Iterator[Inbox]:
    box = Inbox()
    relay = Controller(box, hostname="127.0.0.1", port=smtp_port)
    relay.start()
    try:
        yield box
    finally:
        relay.stop()


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any) -> None:
        """No access log in the test's output."""


@pytest.fixture
def server(app: Flask, web_port: int) -> Iterator[str]:
    httpd = make_server("127.0.0.1", web_port, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{web_port}"
    finally:
        httpd.shutdown()
        thread.join(timeout=30)


def mail_number(inbox: Inbox, n: int) -> EmailMessage:
    """The n-th message (1-based) the relay received, once it has arrived."""
    deadline = time.monotonic() + MAIL_DEADLINE_S
    while len(inbox.messages) < n:
        assert time.monotonic() < deadline, f"message {n} never arrived: {inbox.messages}"
        time.sleep(0.05)
    return inbox.messages[n - 1]


def link(message: EmailMessage, base: str, action: str) -> str:
    pattern = rf"{re.escape(base)}/v1/reminders/[^/\s]+/{action}\?sig=\S+"
    found = re.search(pattern, text_of(message))
    assert found, text_of(message)
    return found.group(0)


def pay(client: FlaskClient, services: Services, body: dict[str, object]) -> Any:
    raw = orjson.dumps(body)
    signature = sign(services.settings.webhook_secret, int(services.clock().timestamp()), raw)
    return client.post(
        "/v1/conversions",
        data=raw,
        content_type="application/json",
        headers={"X-SmallFavor-Signature": signature},
    )


@pytest.mark.parametrize("width", [1280, 375])
def test_a_reader_is_reminded_in_two_weeks_and_the_gift_is_counted(
    server: str,
    page: Any,
    client: FlaskClient,
    services: Services,
    settings: Settings,
    clock: FakeClock,
    inbox: Inbox,
    auth: Auth,
    width: int,
) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    doc = offering_doc(targeting={})
    for variant in doc["variants"]:
        variant["banner"]["reminder"]["thanks"] = THANKS
        # The demo's donation page, on this server: Playwright's routing cannot stand in for
        # another site here, as it never sees the request a redirect leads to.
        variant["banner"]["cta"]["url"] = f"{server}/demo/donate"
    start(client, auth("editor"), doc)

    # The article: "remind me later", "In 2 weeks", an address, and the thanks.
    with page.expect_response(lambda r: "/v1/decision" in r.url) as decided:
        page.goto(f"{server}/demo?placements=article-end")
    variant = decided.value.json()["banner"]["variant"]
    box = banner(page)
    box.get_by_role("button", name=LATER).click()
    box.get_by_role("radio", name="In 2 weeks").check()
    box.get_by_role("textbox", name="Your e-mail address").fill(ADDRESS)
    assert not scrolls_sideways(page)
    with page.expect_response(lambda r: r.url.endswith("/v1/reminders")) as answered:
        box.get_by_role("button", name="Remind me").click()
    assert answered.value.status == 202, answered.value.text()
    status = box.get_by_role("status")
    status.wait_for()
    assert status.inner_text() == THANKS
    visitor = visitor_of(page)

    # Snoozed by the service until the reminder is due: a reload shows no banner.
    with page.expect_response(lambda r: "/v1/decision" in r.url) as again:
        page.reload()
    assert again.value.json() == {"banner": None, "reason": "snoozed"}
    assert banner(page).count() == 0

    # Double opt-in: the confirmation's link shows a button; pressing it confirms.
    confirmation = mail_number(inbox, 1)
    assert confirmation["To"] == ADDRESS
    page.goto(link(confirmation, server, "confirm"))
    page.get_by_role("button", name="Confirm my reminder").click()
    page.get_by_role("heading", name="Reminder confirmed").wait_for()

    # Two weeks later (and a bit): the job sends the reminder, once however often it runs.
    job = ReminderJob(services.engine, settings)
    clock.advance(days=13)
    assert job.run(clock()) == []  # not before its time
    clock.advance(days=1, minutes=5)
    assert [a.sent for a in job.run(clock())] == [True]
    assert job.run(clock()) == []
    reminder = mail_number(inbox, 2)
    assert len(inbox.messages) == 2
    assert reminder["To"] == ADDRESS
    assert reminder["Subject"] == MESSAGE["subject"]
    assert reminder["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert reminder["List-Unsubscribe"] == f"<{link(reminder, server, 'unsubscribe')}>"
    assert MESSAGE["body"] in text_of(reminder)

    # The reminder's link leads to the variant's donation page, the reader's token with it.
    clock.advance(hours=1)
    page.goto(link(reminder, server, "give"))
    page.wait_for_url(f"{server}/demo/donate?**")
    params = parse_qs(urlsplit(page.url).query)
    assert params["sf_experiment"] == [KEY] and params["sf_variant"] == [variant]
    assert (
        services.signer.verify_decision(
            params["sf_token"][0], int(clock().timestamp()), 3600
        ).visitor
        == visitor
    )

    # The payment side reports the gift through the signed webhook, with that token.
    clock.advance(minutes=10)
    paid = pay(
        client,
        services,
        {"id": "pay_reminded", "token": params["sf_token"][0], "amount": 10, "currency": "USD"},
    )
    assert paid.status_code == 200, paid.json
    assert paid.json["credited"] == [{"experiment": KEY, "variant": variant}]
    with open_flusher(settings, 500) as flusher:
        flusher.run_once()

    # The report counts it as a donation after a reminder.
    report = client.get(f"/v1/admin/experiments/{KEY}/report", headers=auth("viewer"))
    assert report.status_code == 200, report.json
    rows = {row["variant"]: row for row in report.json["reminders"]["variants"]}
    figures = {
        name: rows[variant][name]
        for name in (
            "signups",
            "confirmations",
            "sent",
            "clicks",
            "donors_after_reminder",
            "donations_after_reminder",
            "revenue_after_reminder",
        )
    }
    assert figures == {
        "signups": 1,
        "confirmations": 1,
        "sent": 1,
        "clicks": 1,
        "donors_after_reminder": 1,
        "donations_after_reminder": 1,
        "revenue_after_reminder": 10,
    }
    (other,) = set(rows) - {variant}
    assert rows[other]["signups"] == 0

    # …and so does the results page.
    services.users.create("viewer@newsroom.example", PASSWORD, Role.viewer, clock())
    sign_in(page, server, "viewer@newsroom.example")
    page.goto(f"{server}/dashboard/experiments/{KEY}")
    table = page.locator("#reminders")
    table.wait_for()
    heads = [h.removesuffix(" (control)") for h in table.locator("thead th").all_inner_texts()]
    column = heads.index(variant) - 1  # the first heading names the figures
    shown = {
        tr.locator("th").inner_text(): tr.locator("td").nth(column).inner_text().strip()
        for tr in table.locator("tbody tr").all()
    }
    for label in ("Sign-ups", "Confirmed", "Sent", "Clicked", "Donations after a reminder"):
        assert shown[label] == "1", (label, shown)
    assert "10" in shown["Revenue after a reminder"], shown
    assert page.console_errors == []
