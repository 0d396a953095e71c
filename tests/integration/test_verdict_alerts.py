"""Verdict alerts end to end: a real report on SQL, a real SMTP relay (aiosmtpd) and a local
webhook receiver. Each change is told exactly once, through restarts and racing schedulers,
and a failed delivery is retried with backoff."""

from __future__ import annotations

import email
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from email import policy
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine

from service.domain.export_schedule import RunStatus
from service.jobs.alerts import AlertJob
from service.settings import Settings
from service.store.sql.alerts_repo import AlertRepo
from tests.integration.export_support import (
    RECEIVER_ALLOW,
    Receiver,
    at,
    seed_figures,
    start_experiment,
    webhook_receiver,
)
from tests.support import free_port, insert_outcomes

SECRET = "alert-signing-secret-0123456789"
KEY = "monthly-ask"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        # The default policy unfolds long headers, as a mail client shows them.
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def env(env: dict[str, str], smtp_port: int) -> dict[str, str]:
    return {
        **env,
        "EXPORT_WEBHOOK_ALLOW": RECEIVER_ALLOW,
        "ALERT_WEBHOOK_SECRET": SECRET,
        "PUBLIC_URL": "https://favor.example.org",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SMTP_SECURITY": "none",
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
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as running:
        yield running


def watched(engine: Engine, receiver: Receiver) -> None:
    """The export tests' experiment and figures (inconclusive), watched by mail and webhook."""
    alerts = {"emails": ["board@news.example"], "webhooks": [receiver.url]}
    start_experiment(engine, KEY, alerts=alerts)
    seed_figures(engine, KEY)


def add_visitors(engine: Engine, variant: str, visitors: int, donors: int, tag: str) -> None:
    exposed = at(28, 10)
    rows = []
    for n in range(visitors):
        converted = n < donors
        rows.append(
            {
                "experiment_key": KEY,
                "visitor": f"v-{tag}-{variant}-{n:04d}",
                "variant_key": variant,
                "first_seen_at": exposed,
                "first_exposure_at": exposed,
                "last_event_at": exposed,
                "country": "US",
                "device": "mobile",
                "impressions": 1,
                "views": 1,
                "clicks": 1 if converted else 0,
                "dismiss_remind_later": 0,
                "dismiss_close": 0 if converted else 1,
                "dismiss_already_donated": 0,
                "conversions": 1 if converted else 0,
                "revenue": 5.0 if converted else 0.0,
                "annualised_value": 60.0 if converted else 0.0,
                "recurring_conversions": 1 if converted else 0,
                "first_remind_later_at": None,
                "converted_after_remind_later": False,
            }
        )
    with engine.begin() as conn:
        insert_outcomes(conn, rows)


def make_a_winner(engine: Engine) -> None:
    add_visitors(engine, "control", 400, 20, "win")
    add_visitors(engine, "five-dollars", 400, 160, "win")


def verify(receiver: Receiver) -> dict[str, Any]:
    """The one request's JSON body, after checking its signature as a receiver would."""
    (request,) = receiver.requests
    headers, body = request
    timestamp, mac = (
        part.split("=", 1)[1] for part in headers["x-smallfavor-signature"].split(",")
    )
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    assert hmac.compare_digest(mac, expected.hexdigest())
    assert headers["content-type"] == "application/json"
    payload: dict[str, Any] = json.loads(body)
    return payload


def test_a_winner_is_told_once_by_mail_and_webhook_and_not_again_after_a_restart(
    clean_db: Engine, settings: Settings, inbox: Inbox, receiver: Receiver
) -> None:
    watched(clean_db, receiver)
    job = AlertJob(clean_db, settings)
    job.run(at(28, 12))
    # The first evaluation records the state and tells nobody.
    (first,) = AlertRepo(clean_db).history(KEY)
    assert first.state == {"five-dollars": "inconclusive"} and first.message is None
    assert inbox.messages == [] and receiver.requests == []

    make_a_winner(clean_db)
    job.run(at(28, 12, 1))
    (mail,) = inbox.messages
    assert mail["To"] == "board@news.example"
    assert mail["Subject"] == (
        "Small Favor: Monthly ask: $2 vs $5: five-dollars became the winner on revenue per visitor"
    )
    text = str(mail.get_content())
    assert "- five-dollars became the winner on revenue per visitor" in text
    assert "  ahead: +" in text and "(was: inconclusive)" in text
    assert "- control: 440 visitors, 24 donors, revenue per visitor" in text
    assert "Results: https://favor.example.org/dashboard/experiments/monthly-ask" in text
    payload = verify(receiver)
    assert payload["text"].startswith("*Monthly ask: $2 vs $5*: five-dollars became the winner")
    assert [(c["variant"], c["before"], c["after"]) for c in payload["changes"]] == [
        ("five-dollars", "inconclusive", "ahead")
    ]
    assert all(d.status == RunStatus.succeeded for d in AlertRepo(clean_db).deliveries(KEY))

    job.run(at(28, 12, 2))  # nothing changed since
    restarted = AlertJob(clean_db, settings)  # a new process: only SQL remembers
    restarted.run(at(28, 12, 3))
    assert len(inbox.messages) == 1 and len(receiver.requests) == 1
    assert [s.revision for s in AlertRepo(clean_db).history(KEY)] == [1, 2]


def test_srm_flagged_is_a_change(
    clean_db: Engine, settings: Settings, inbox: Inbox, receiver: Receiver
) -> None:
    watched(clean_db, receiver)
    job = AlertJob(clean_db, settings)
    job.run(at(28, 12))
    add_visitors(clean_db, "control", 300, 0, "srm")
    job.run(at(28, 12, 1))
    (mail,) = inbox.messages
    assert mail["Subject"] == (
        "Small Favor: Monthly ask: $2 vs $5: five-dollars is flagged: sample ratio mismatch, "
        "do not trust these numbers"
    )
    assert "Sample ratio mismatch: p = " in str(mail.get_content())
    assert verify(receiver)["srm"]["mismatch"] is True


def test_two_schedulers_racing_tell_each_change_once(
    clean_db: Engine, settings: Settings, inbox: Inbox, receiver: Receiver
) -> None:
    watched(clean_db, receiver)
    AlertJob(clean_db, settings).run(at(28, 12))
    make_a_winner(clean_db)
    replicas = [AlertJob(clean_db, settings) for _ in range(2)]
    start = threading.Barrier(2)

    def poll(index: int) -> None:
        start.wait()
        replicas[index].run(at(28, 12, 1))

    threads = [threading.Thread(target=poll, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [s.revision for s in AlertRepo(clean_db).history(KEY)] == [1, 2]
    assert len(inbox.messages) == 1 and len(receiver.requests) == 1
    deliveries = AlertRepo(clean_db).deliveries(KEY)
    assert sorted(d.channel for d in deliveries) == ["email", "webhook"]
    assert all(d.status == RunStatus.succeeded and d.attempts == 1 for d in deliveries)


def test_a_stale_scheduler_cannot_record_a_revision_already_taken(
    clean_db: Engine, settings: Settings, receiver: Receiver
) -> None:
    watched(clean_db, receiver)
    repo = AlertRepo(clean_db)
    AlertJob(clean_db, settings).run(at(28, 12))
    taken = repo.record(
        KEY,
        1,
        {"five-dollars": "ahead"},
        changes=[],
        message=None,
        targets=[],
        worker="w",
        now=at(28),
    )
    assert taken is None  # revision 1 exists: nothing written
    assert [s.state for s in repo.history(KEY)] == [{"five-dollars": "inconclusive"}]


def test_a_failing_webhook_is_retried_with_backoff_and_the_mail_still_goes(
    clean_db: Engine, settings: Settings, inbox: Inbox, receiver: Receiver
) -> None:
    watched(clean_db, receiver)
    job = AlertJob(clean_db, settings)
    job.run(at(28, 12))
    make_a_winner(clean_db)
    receiver.status = 503
    job.run(at(28, 12, 1))
    assert len(inbox.messages) == 1
    hook = next(d for d in AlertRepo(clean_db).deliveries(KEY) if d.channel == "webhook")
    assert hook.status == RunStatus.retrying and hook.attempts == 1
    assert hook.error == "the webhook answered HTTP 503"
    assert hook.next_attempt_at == at(28, 12, 2)  # EXPORT_RETRY_SECONDS: one minute

    receiver.status = 200
    job.run(at(28, 12, 1) + timedelta(seconds=30))  # not before its time
    assert len(receiver.requests) == 1
    job.run(at(28, 12, 2))
    assert len(receiver.requests) == 2 and len(inbox.messages) == 1
    first, second = receiver.requests
    assert first[1] == second[1]  # the retry sends the same message
    hook = next(d for d in AlertRepo(clean_db).deliveries(KEY) if d.channel == "webhook")
    assert hook.status == RunStatus.succeeded and hook.attempts == 2


def test_an_internal_webhook_is_refused_without_retries(
    clean_db: Engine, env: dict[str, str], inbox: Inbox, receiver: Receiver
) -> None:
    # Saved while 127.0.0.1 was allowed, then the allow-list changed: delivery checks again.
    settings = Settings.from_env({**env, "EXPORT_WEBHOOK_ALLOW": ""})
    watched(clean_db, receiver)
    job = AlertJob(clean_db, settings)
    job.run(at(28, 12))
    make_a_winner(clean_db)
    job.run(at(28, 12, 1))
    hook = next(d for d in AlertRepo(clean_db).deliveries(KEY) if d.channel == "webhook")
    assert hook.status == RunStatus.failed and hook.attempts == 1
    assert hook.error is not None and hook.error.startswith("refused, nothing was sent")
    assert receiver.requests == [] and len(inbox.messages) == 1
