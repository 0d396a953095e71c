"""E-mail reminders through the Flask client, a real SMTP relay (aiosmtpd) and the scheduler's
job on a controlled clock: sign-up, double opt-in, sending exactly once, the link to give that
the payment webhook credits, unsubscribe, expiry, erasure, limits and bad input."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from service.api.public.payment_webhook import sign
from service.jobs.reminders import ReminderJob
from service.store.sql.delivery_tables import reminders
from service.store.sql.reminders_repo import ReminderRepo
from service.wiring import Services
from tests.functional.events_support import HEADERS, banner_for, event, post_events
from tests.functional.reminders_support import (
    KEY,
    PUBLIC_URL,
    Inbox,
    link_in,
    offering_doc,
    sign_up,
    start,
    text_of,
    when,
)
from tests.functional.test_events_redis_fallback import flush
from tests.support import FakeClock, experiment_doc, free_port

Auth = Callable[[str], dict[str, str]]
VISITOR = "reader-000001"
ADDRESS = "Reader.One@Example.org"


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def env(env: dict[str, str], smtp_port: int) -> dict[str, str]:
    return {
        **env,
        "PUBLIC_URL": PUBLIC_URL,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SMTP_SECURITY": "none",
        "ALLOWED_ORIGINS": "https://news.example.org",
    }


@pytest.fixture
def inbox(smtp_port: int) -> Iterator[Inbox]:
    box = Inbox()
    relay = Controller(box, hostname="127.0.0.1", port=smtp_port)
    relay.start()
    try:
        yield box
    finally:
        relay.stop()


@pytest.fixture
def offering(client: FlaskClient, auth: Auth) -> None:
    start(client, auth("editor"), offering_doc())


def seen_token(client: FlaskClient, visitor: str = VISITOR) -> dict[str, str]:
    """The banner a reader saw (an impression recorded), with its decision token."""
    shown = banner_for(client, visitor)
    assert post_events(client, [event(shown["token"])]).json["accepted"] == 1
    return shown


def job(services: Services) -> ReminderJob:
    return ReminderJob(services.engine, services.settings)


def rows(services: Services) -> list[object]:
    with services.engine.connect() as conn:
        return list(conn.execute(select(reminders)).all())


def pay(client: FlaskClient, services: Services, body: dict[str, object]) -> object:
    raw = orjson.dumps(body)
    signature = sign(services.settings.webhook_secret, int(services.clock().timestamp()), raw)
    return client.post(
        "/v1/conversions",
        data=raw,
        content_type="application/json",
        headers={"X-SmallFavor-Signature": signature},
    )


@pytest.mark.usefixtures("offering")
def test_the_whole_path_from_sign_up_to_a_credited_donation(
    app: Flask,
    client: FlaskClient,
    auth: Callable[[str], dict[str, str]],
    services: Services,
    clock: FakeClock,
    inbox: Inbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    shown = seen_token(client)
    signed = sign_up(client, shown["token"], ADDRESS, when(clock.now, days=14))
    assert signed.status_code == 202, signed.json
    assert signed.json == {
        "reminder": signed.json["reminder"],
        "status": "pending",
        "snoozed_until": when(clock.now, days=14),
    }
    assert signed.headers["Access-Control-Allow-Origin"] == "https://news.example.org"

    # The confirmation went out at once, with the one-click unsubscribe.
    (confirmation,) = inbox.messages
    assert confirmation["To"] == ADDRESS
    assert confirmation["Subject"] == "Please confirm your reminder"
    assert confirmation["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = link_in(confirmation, "unsubscribe")
    assert inbox.raw_header(0, "List-Unsubscribe") == f"<{PUBLIC_URL}{unsubscribe}>"
    assert "Unsubscribe: " in text_of(confirmation)
    # Stored encrypted only.
    (row,) = rows(services)
    assert row.email_cipher and ADDRESS.lower() not in row.email_cipher.lower()  # type: ignore[attr-defined]
    assert row.status == "pending" and row.qa is False  # type: ignore[attr-defined]

    # The reader's banner is snoozed until the reminder is due.
    snoozed = client.get(
        "/v1/decision",
        query_string={"visitor": VISITOR, "placement": "article-end"},
        headers=HEADERS,
    )
    assert snoozed.json == {"banner": None, "reason": "snoozed"}

    # A page with a button (a link scanner's GET confirms nothing), then the button.
    confirm = link_in(confirmation, "confirm")
    page = client.get(confirm)
    assert page.status_code == 200 and b"Confirm my reminder" in page.data
    assert rows(services)[0].status == "pending"  # type: ignore[attr-defined]
    confirmed = client.post(confirm)
    assert confirmed.status_code == 200 and b"Reminder confirmed" in confirmed.data
    assert rows(services)[0].status == "confirmed"  # type: ignore[attr-defined]

    clock.advance(days=14, seconds=-1)
    assert job(services).run(clock()) == []  # not before its time
    clock.advance(seconds=1)
    (sent,) = job(services).run(clock())
    assert sent.sent
    assert job(services).run(clock()) == [] and job(services).run(clock()) == []
    assert len(inbox.messages) == 2
    reminder = inbox.messages[1]
    assert reminder["Subject"] == "Time to give?"
    assert reminder["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = link_in(reminder, "unsubscribe")
    assert inbox.raw_header(1, "List-Unsubscribe") == f"<{PUBLIC_URL}{unsubscribe}>"
    text = text_of(reminder)
    assert "Two weeks ago you asked us to remind you. Here we are." in text
    amount = "Give from $2 a month" if shown["variant"] == "control" else "Give from $5 a month"
    assert amount in text
    (row,) = rows(services)
    assert row.status == "sent" and row.sent_at == clock.now  # type: ignore[attr-defined]
    assert row.email_cipher is None and row.email_hash is None  # type: ignore[attr-defined]

    clock.advance(hours=2)
    followed = client.get(link_in(reminder, "give"))
    assert followed.status_code == 303
    location = urlsplit(followed.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == "https://example.org/donate"
    params = parse_qs(location.query)
    assert params["sf_experiment"] == [KEY] and params["sf_variant"] == [shown["variant"]]
    assert params["frequency"] == ["monthly"]
    assert rows(services)[0].clicked_at == clock.now  # type: ignore[attr-defined]
    clock.advance(minutes=5)
    client.get(link_in(reminder, "give"))  # a second click keeps the first time
    assert rows(services)[0].clicked_at < clock.now  # type: ignore[attr-defined]

    # The payment side sends the fresh token back; the donation is credited to the variant.
    paid = pay(
        client,
        services,
        {"id": "pay_r1", "token": params["sf_token"][0], "amount": 5, "currency": "USD"},
    )
    assert paid.status_code == 200, paid.json  # type: ignore[attr-defined]
    assert paid.json["credited"] == [{"experiment": KEY, "variant": shown["variant"]}]  # type: ignore[attr-defined]

    def after_reminder() -> float:
        flush(app)
        report = client.get(f"/v1/admin/experiments/{KEY}/report", headers=auth("viewer")).json
        section = report["reminders"]["variants"]  # type: ignore[index]
        [row] = [v for v in section if v["variant"] == shown["variant"]]
        return float(row["revenue_after_reminder"])

    assert after_reminder() == 5.0
    # Part of that donation refunded: the reminder's revenue is what the newsroom kept.
    refund = {"type": "refund", "id": "re_r1", "payment": "pay_r1", "amount": 2, "currency": "USD"}
    assert pay(client, services, refund).json["status"] == "applied"  # type: ignore[attr-defined]
    assert after_reminder() == 3.0

    logged = "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith("mail.log")
    ).lower()
    assert "reminder " in logged  # the flow was logged…
    assert ADDRESS.lower() not in logged and "example.org>" not in logged  # …never the address


@pytest.mark.usefixtures("offering")
def test_the_same_sign_up_twice_is_one_row_and_one_mail(
    client: FlaskClient, services: Services, clock: FakeClock, inbox: Inbox
) -> None:
    token = seen_token(client)["token"]
    first = sign_up(client, token, ADDRESS, when(clock.now, days=14))
    again = sign_up(client, token, f"  {ADDRESS.upper()} ", when(clock.now, days=20))
    assert first.status_code == again.status_code == 202
    assert again.json == first.json
    assert len(rows(services)) == 1 and len(inbox.messages) == 1


@pytest.mark.usefixtures("offering")
def test_bad_input_names_each_field(
    client: FlaskClient, services: Services, clock: FakeClock, inbox: Inbox
) -> None:
    bad = sign_up(client, "d.forged.token", "not-an-address", when(clock.now, minutes=10))
    assert bad.status_code == 422
    assert set(bad.json["error"]["fields"]) == {"token", "email", "remind_at"}
    assert bad.json["error"]["fields"]["remind_at"] == "must be at least an hour from now"

    token = seen_token(client)["token"]
    too_far = sign_up(client, token, ADDRESS, when(clock.now, days=400))
    assert too_far.json["error"]["fields"] == {"remind_at": "must be at most 366 days from now"}
    no_zone = sign_up(client, token, ADDRESS, "2026-12-20T09:00:00")
    assert set(no_zone.json["error"]["fields"]) == {"remind_at"}
    extra = client.post("/v1/reminders", json={"token": token, "email": ADDRESS, "x": 1})
    assert set(extra.json["error"]["fields"]) == {"x", "remind_at"}

    # Addresses no relay delivers are refused up front, not retried until they fail.
    for address in ("a\x00b@example.org", "é@example.org", "a@-example.org", "a..b@example.org"):
        refused = sign_up(client, token, address, when(clock.now, days=14))
        assert refused.json["error"]["fields"] == {"email": "must be an e-mail address"}, address

    clock.advance(hours=25)  # TOKEN_MAX_AGE_HOURS is 24
    expired = sign_up(client, token, ADDRESS, when(clock.now, days=14))
    assert expired.json["error"]["fields"] == {"token": "token has expired"}
    assert rows(services) == [] and inbox.messages == []


def test_a_banner_without_an_offer_takes_no_sign_up(
    client: FlaskClient, auth: Auth, clock: FakeClock, inbox: Inbox
) -> None:
    start(client, auth("editor"), experiment_doc())
    token = seen_token(client)["token"]
    refused = sign_up(client, token, ADDRESS, when(clock.now, days=14))
    assert refused.status_code == 422
    assert refused.json["error"]["fields"] == {"token": "its banner offers no e-mail reminder"}


@pytest.mark.usefixtures("offering")
def test_sign_ups_are_limited_per_e_mail_address_and_per_client(
    client: FlaskClient, services: Services, clock: FakeClock, inbox: Inbox
) -> None:
    def token(n: int) -> str:
        return services.signer.decision(
            f"reader-{n:06d}", KEY, "control", int(clock.now.timestamp()), False
        )

    remind_at = when(clock.now, days=14)
    for n in range(3):
        assert sign_up(client, token(n), ADDRESS, remind_at).status_code == 202
    limited = sign_up(client, token(3), ADDRESS, remind_at)
    assert limited.status_code == 429
    assert "email" in limited.json["error"]["fields"]
    assert 0 < int(limited.headers["Retry-After"]) <= 86_400
    assert len(inbox.messages) == 3

    # 20 sign-ups an hour from one client address: 16 more with other addresses pass.
    for n in range(16):
        assert sign_up(client, token(10 + n), f"r{n}@example.net", remind_at).status_code == 202
    assert sign_up(client, token(40), "late@example.net", remind_at).status_code == 429


@pytest.mark.usefixtures("offering")
def test_one_click_unsubscribe_stops_the_reminder_and_deletes_the_address(
    client: FlaskClient, services: Services, clock: FakeClock, inbox: Inbox
) -> None:
    token = seen_token(client)["token"]
    sign_up(client, token, ADDRESS, when(clock.now, days=14))
    (confirmation,) = inbox.messages
    client.post(link_in(confirmation, "confirm"))
    unsubscribe = link_in(confirmation, "unsubscribe")
    page = client.get(unsubscribe)
    assert page.status_code == 200 and b"<button" in page.data
    one_click = client.post(
        unsubscribe,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert one_click.status_code == 200
    (row,) = rows(services)
    assert row.status == "unsubscribed" and row.unsubscribed_at == clock.now  # type: ignore[attr-defined]
    assert row.email_cipher is None and row.email_hash is None  # type: ignore[attr-defined]
    clock.advance(days=15)
    assert job(services).run(clock()) == []
    assert len(inbox.messages) == 1


@pytest.mark.usefixtures("offering")
def test_an_unconfirmed_sign_up_expires_and_its_address_goes(
    client: FlaskClient, services: Services, clock: FakeClock, inbox: Inbox
) -> None:
    token = seen_token(client)["token"]
    sign_up(client, token, ADDRESS, when(clock.now, days=14))
    clock.advance(days=3, seconds=-1)
    job(services).run(clock())
    assert rows(services)[0].status == "pending"  # type: ignore[attr-defined]
    clock.advance(seconds=1)
    job(services).run(clock())
    (row,) = rows(services)
    assert row.status == "expired" and row.email_cipher is None  # type: ignore[attr-defined]
    late = client.post(link_in(inbox.messages[0], "confirm"))
    assert b"Link expired" in late.data
    clock.advance(days=12)
    assert job(services).run(clock()) == [] and len(inbox.messages) == 1


@pytest.mark.usefixtures("offering")
def test_erasing_the_visitor_removes_their_reminders(
    client: FlaskClient, services: Services, clock: FakeClock, inbox: Inbox, auth: Auth
) -> None:
    sign_up(client, seen_token(client)["token"], ADDRESS, when(clock.now, days=14))
    sign_up(
        client,
        seen_token(client, "reader-000002")["token"],
        "b@example.net",
        when(clock.now, days=14),
    )
    erased = client.delete(f"/v1/admin/visitors/{VISITOR}", headers=auth("admin"))
    assert erased.json["removed"]["reminders"] == 1
    assert [r.visitor for r in rows(services)] == ["reader-000002"]  # type: ignore[attr-defined]
    gone = client.get(link_in(inbox.messages[0], "confirm"))
    assert gone.status_code == 404 and b"no longer exists" in gone.data


@pytest.mark.usefixtures("offering")
def test_a_forged_link_is_refused_and_pages_escape_what_they_show(
    client: FlaskClient, services: Services, clock: FakeClock, inbox: Inbox
) -> None:
    sign_up(client, seen_token(client)["token"], ADDRESS, when(clock.now, days=14))
    confirm = link_in(inbox.messages[0], "confirm")
    forged = client.post(confirm[:-3] + "AAA")
    assert forged.status_code == 404 and rows(services)[0].status == "pending"  # type: ignore[attr-defined]
    hostile = client.get(confirm + "&x=<script>alert(1)</script>")
    assert b"<script>" not in hostile.data and b"&lt;script&gt;" in hostile.data
    assert "default-src 'none'" in hostile.headers["Content-Security-Policy"]
    assert hostile.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.usefixtures("offering")
def test_a_failed_confirmation_keeps_the_sign_up_and_is_retried(
    client: FlaskClient, services: Services, clock: FakeClock, smtp_port: int
) -> None:
    # No relay listens yet: the confirmation fails, the sign-up stands.
    signed = sign_up(client, seen_token(client)["token"], ADDRESS, when(clock.now, days=14))
    assert signed.status_code == 202
    (row,) = rows(services)
    assert row.status == "pending" and row.error.startswith("SMTP 127.0.0.1")  # type: ignore[attr-defined]
    box = Inbox()
    relay = Controller(box, hostname="127.0.0.1", port=smtp_port)
    relay.start()
    try:
        clock.advance(minutes=4)
        assert job(services).run(clock()) == []  # backoff: 5 minutes
        clock.advance(minutes=1)
        (attempt,) = job(services).run(clock())
        assert attempt.sent and len(box.messages) == 1
        assert box.messages[0]["Subject"] == "Please confirm your reminder"
    finally:
        relay.stop()
    assert ReminderRepo(services.engine).get(signed.json["reminder"]).next_attempt_at is None  # type: ignore[union-attr]


def _confirmed_reminders(client: FlaskClient, clock: FakeClock, inbox: Inbox, n: int) -> None:
    for i in range(n):
        visitor = f"reader-{i + 100:06d}"
        sign_up(
            client,
            seen_token(client, visitor)["token"],
            f"r{i}@example.net",
            when(clock.now, days=14),
        )
    for message in list(inbox.messages):
        assert client.post(link_in(message, "confirm")).status_code == 200
    inbox.messages.clear()


@pytest.mark.usefixtures("offering")
def test_two_schedulers_racing_send_each_reminder_once(
    client: FlaskClient, services: Services, clock: FakeClock, inbox: Inbox
) -> None:
    import threading

    _confirmed_reminders(client, clock, inbox, 6)
    clock.advance(days=14)
    replicas = [job(services) for _ in range(2)]
    start_together = threading.Barrier(2)
    done: list[list[object]] = [[], []]

    def poll(index: int) -> None:
        start_together.wait()
        done[index] = list(replicas[index].run(clock()))

    threads = [threading.Thread(target=poll, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(done[0]) + len(done[1]) == 6
    assert sorted(str(m["To"]) for m in inbox.messages) == [f"r{i}@example.net" for i in range(6)]
    assert {r.status for r in rows(services)} == {"sent"}  # type: ignore[attr-defined]
    assert {r.attempts for r in rows(services)} == {1}  # type: ignore[attr-defined]


@pytest.mark.usefixtures("offering")
def test_a_scheduler_that_stops_after_claiming_is_taken_over_after_the_lease(
    client: FlaskClient, services: Services, clock: FakeClock, inbox: Inbox
) -> None:
    from service.domain.reminders import LEASE

    _confirmed_reminders(client, clock, inbox, 1)
    clock.advance(days=14)
    repo = ReminderRepo(services.engine)
    (due,) = repo.due(clock(), LEASE)
    assert repo.claim(due, "crashed-scheduler", clock(), LEASE) is not None  # …and it stops
    survivor = job(services)
    assert survivor.run(clock()) == []
    clock.advance(minutes=59)
    assert survivor.run(clock()) == []
    clock.advance(minutes=1, seconds=1)
    (attempt,) = survivor.run(clock())
    assert attempt.sent and len(inbox.messages) == 1
    (row,) = rows(services)
    assert row.status == "sent" and row.attempts == 2  # type: ignore[attr-defined]
    assert survivor.run(clock()) == [] and len(inbox.messages) == 1


def test_no_row_is_left_holding_an_address_after_it_ends(services: Services) -> None:
    with services.engine.connect() as conn:
        held = conn.execute(
            select(func.count()).where(
                reminders.c.status.not_in(["pending", "confirmed"]),
                reminders.c.email_cipher.is_not(None),
            )
        ).scalar()
    assert held == 0


class Refusing(Inbox):
    async def handle_RCPT(
        self, server: object, session: object, envelope: object, address: str, options: object
    ) -> str:
        return f"550 no mailbox {address}"


@pytest.mark.usefixtures("offering")
def test_a_refused_recipient_is_recorded_without_the_address(
    client: FlaskClient, services: Services, clock: FakeClock, smtp_port: int
) -> None:
    relay = Controller(Refusing(), hostname="127.0.0.1", port=smtp_port)
    relay.start()
    try:
        signed = sign_up(client, seen_token(client)["token"], ADDRESS, when(clock.now, days=14))
    finally:
        relay.stop()
    assert signed.status_code == 202
    (row,) = rows(services)
    assert "<recipient>" in row.error and "example.org" not in row.error.lower()  # type: ignore[attr-defined]


@pytest.mark.usefixtures("offering")
def test_with_redis_away_the_per_address_limit_is_counted_in_sql(
    client: FlaskClient,
    services: Services,
    clock: FakeClock,
    inbox: Inbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import redis as redis_lib

    from service.store.redis.event_ingest import EventIngest
    from service.store.redis.reminder_limits import ReminderLimits

    def away(*args: object, **kwargs: object) -> None:
        raise redis_lib.ConnectionError("Redis is away")

    monkeypatch.setattr(ReminderLimits, "_count", away)
    monkeypatch.setattr(EventIngest, "record", away)
    remind_at = when(clock.now, days=14)
    for n in range(3):
        token = services.signer.decision(
            f"reader-{n:06d}", KEY, "control", int(clock.now.timestamp()), False
        )
        assert sign_up(client, token, f" {ADDRESS.lower()}", remind_at).status_code == 202
    token = services.signer.decision(
        "reader-000009", KEY, "control", int(clock.now.timestamp()), False
    )
    limited = sign_up(client, token, ADDRESS, remind_at)
    assert limited.status_code == 429 and "email" in limited.json["error"]["fields"]
    assert len(inbox.messages) == 3


@pytest.mark.usefixtures("offering")
def test_a_qa_sign_up_is_marked_and_leaves_the_ledger_alone(
    client: FlaskClient, services: Services, clock: FakeClock, inbox: Inbox
) -> None:
    now = int(clock.now.timestamp())
    qa_token = services.signer.decision(VISITOR, KEY, "control", now, True)
    assert sign_up(client, qa_token, ADDRESS, when(clock.now, days=14)).status_code == 202
    (row,) = rows(services)
    assert row.qa is True  # type: ignore[attr-defined]
    assert services.ledger.peek(VISITOR) == {}  # no snooze from a QA preview
    assert len(inbox.messages) == 1  # QA still sees the whole path
