"""Destinations: a failing directory, webhook or mail relay is recorded and retried with
backoff, the scheduler carries on with the rest, and a working one gets what it should."""

from __future__ import annotations

import email
import hashlib
import hmac
from collections.abc import Iterator
from datetime import timedelta
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine

from service.domain.export_schedule import RunStatus
from service.settings import Settings
from service.store.sql.exports_repo import ExportRepo
from tests.integration.export_support import (
    RECEIVER_ALLOW,
    at,
    save_schedule,
    scheduler,
    seed_figures,
    start_experiment,
    webhook_receiver,
)
from tests.support import FakeClock, free_port

SECRET = "webhook-secret-0123456789"


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "EXPORT_WEBHOOK_ALLOW": RECEIVER_ALLOW}


@pytest.fixture
def seeded(clean_db: Engine) -> Engine:
    start_experiment(clean_db)
    seed_figures(clean_db)
    return clean_db


def test_an_unwritable_directory_is_recorded_and_retried(
    seeded: Engine, settings: Settings
) -> None:
    settings.export_dir.mkdir(parents=True)
    blocker = settings.export_dir / "board"
    blocker.write_text("a file where the directory should be")
    save_schedule(seeded, at(27, 12))
    clock = FakeClock(at(28, 6))
    worker = scheduler(seeded, settings, clock)
    (first,) = worker.run_pending()
    assert first.status == RunStatus.retrying and first.attempts == 1
    assert first.error is not None and first.error.startswith(f"cannot write to {blocker}")
    assert first.next_attempt_at == at(28, 6, 1)  # the first backoff: one minute
    assert worker.run_pending() == []  # not before its time

    blocker.unlink()
    clock.advance(minutes=1)
    (second,) = worker.run_pending()
    assert second.id == first.id and second.status == RunStatus.succeeded
    assert second.attempts == 2 and second.error is None and second.rows == 6
    assert len(list(blocker.iterdir())) == 1


def test_a_failing_webhook_backs_off_then_fails_and_the_others_still_run(
    seeded: Engine, settings: Settings
) -> None:
    with webhook_receiver() as receiver:
        receiver.status = 500
        hook = save_schedule(
            seeded,
            at(27, 12),
            name="hook",
            destination={"type": "webhook", "url": receiver.url, "secret": SECRET},
        )
        save_schedule(seeded, at(27, 12), name="files")
        clock = FakeClock(at(28, 6))
        worker = scheduler(seeded, settings, clock, max_attempts=3)
        runs = {r.schedule_id: r for r in worker.run_pending()}
        assert runs[hook.id].status == RunStatus.retrying
        assert runs[hook.id].error is not None
        assert runs[hook.id].error.startswith("the webhook answered HTTP 500 to monthly-ask_")
        assert [r.status for k, r in runs.items() if k != hook.id] == [RunStatus.succeeded]

        clock.advance(minutes=1)
        (second,) = worker.run_pending()
        assert second.status == RunStatus.retrying and second.attempts == 2
        assert second.next_attempt_at == clock() + timedelta(minutes=2)  # doubled
        clock.advance(minutes=2)
        (third,) = worker.run_pending()
        assert third.status == RunStatus.failed and third.attempts == 3
        assert third.next_attempt_at is None and third.finished_at == clock()
        clock.advance(hours=1)
        assert worker.run_pending() == []  # out of attempts
        assert len(receiver.requests) == 3


def test_a_webhook_gets_each_file_signed(seeded: Engine, settings: Settings) -> None:
    start_experiment(seeded, "yearly-ask")
    with webhook_receiver() as receiver:
        save_schedule(
            seeded,
            at(27, 12),
            format="parquet",
            destination={"type": "webhook", "url": receiver.url, "secret": SECRET},
        )
        (run,) = scheduler(seeded, settings, FakeClock(at(28, 6))).run_pending()
    assert run.status == RunStatus.succeeded and run.destination == receiver.url
    assert len(receiver.requests) == 2  # one POST per experiment's file
    names = []
    for headers, body in receiver.requests:
        timestamp, mac = headers["x-smallfavor-signature"].removeprefix("t=").split(",v1=")
        expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
        assert hmac.compare_digest(mac, expected.hexdigest())
        assert headers["content-type"] == "application/vnd.apache.parquet"
        assert headers["x-smallfavor-export-run"] == str(run.id)
        assert body.startswith(b"PAR1")
        names.append(headers["x-smallfavor-export-file"])
    assert sorted(names) == [
        f"monthly-ask_2026-11-26_2026-11-28_run{run.id}.parquet",
        f"yearly-ask_2026-11-26_2026-11-28_run{run.id}.parquet",
    ]
    assert run.bytes == sum(len(body) for _, body in receiver.requests)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_settings(env: dict[str, str]) -> Iterator[tuple[Settings, int]]:
    port = free_port()
    yield (
        Settings.from_env(
            {**env, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_SECURITY": "none"}
        ),
        port,
    )


def test_mail_relay_down_then_up(seeded: Engine, smtp_settings: tuple[Settings, int]) -> None:
    settings, port = smtp_settings
    save_schedule(
        seeded,
        at(27, 12),
        timezone="Europe/Berlin",
        destination={"type": "email", "to": ["board@news.example", "data@news.example"]},
    )
    clock = FakeClock(at(28, 6))
    worker = scheduler(seeded, settings, clock)
    (down,) = worker.run_pending()
    assert down.status == RunStatus.retrying
    assert down.error is not None and down.error.startswith(f"SMTP 127.0.0.1:{port}: ")

    inbox = Inbox()
    relay = Controller(inbox, hostname="127.0.0.1", port=port)
    relay.start()
    try:
        clock.advance(minutes=1)
        (sent,) = worker.run_pending()
    finally:
        relay.stop()
    assert sent.status == RunStatus.succeeded
    assert sent.destination == "mailto:board@news.example,data@news.example"
    (message,) = inbox.messages
    assert message["Subject"] == "Small Favor export: weekly board report (2026-11-28)"
    assert message["To"] == "board@news.example, data@news.example"
    body, attachment = [part for part in message.walk() if not part.is_multipart()]
    digest = body.get_payload(decode=True).decode("utf-8")
    assert f'"weekly board report", run {sent.id}, 2026-11-28 06:00 Europe/Berlin' in digest
    assert "Visitors shown a banner: control 40, five-dollars 40." in digest
    # 4 donors in control, short of MIN_DONORS_PER_ARM (30), as on the results page.
    assert "five-dollars: not enough data yet: 4 of 30 donors" in digest
    assert attachment.get_filename() == f"monthly-ask_2026-11-26_2026-11-28_run{sent.id}.csv"
    content = attachment.get_payload(decode=True)
    assert content.decode("utf-8").startswith("row_type,experiment,")
    assert len(content) == sent.bytes


def test_every_run_is_listed_with_its_outcome(seeded: Engine, settings: Settings) -> None:
    stored = save_schedule(seeded, at(27, 12))
    repo = ExportRepo(seeded)
    queued = repo.queue_adhoc(stored.id, at(28, 5))
    assert queued.status == RunStatus.queued and queued.attempts == 0
    runs = scheduler(seeded, settings, FakeClock(at(28, 6))).run_pending()
    assert {r.fire_time for r in runs} == {at(28, 6), None}
    listed = repo.runs(stored.id)
    assert [r.id for r in listed] == sorted((r.id for r in runs), reverse=True)
    for run in listed:
        assert run.status == RunStatus.succeeded and run.started_at and run.finished_at
        assert run.rows == 6 and run.bytes and run.destination
