"""Sampled decisions from the sampler through the events stream and the flusher into
decision_log: one transaction with the events, idempotent replays, the dead-letter stream,
retention, Redis failures, and `smallfavor flush --once`."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import Engine, func, select

from service.domain.decision import Outcome, Reason
from service.domain.decision_log import LoggedDecision
from service.domain.experiment import Device, Placement
from service.domain.page_context import PageContext
from service.jobs.flusher import Flusher
from service.schemas.experiment import parse_experiment
from service.store.redis.decision_sampler import DecisionSampler
from service.store.redis.event_stream import EventStream
from service.store.redis.event_streams import PartitionedStreams
from service.store.sql.decision_log_repo import DecisionLogRepo, insert_decisions
from service.store.sql.event_deltas import prepare
from service.store.sql.event_tables import decision_log
from service.store.sql.event_writer import EventWriter
from tests.integration.flush_support import KEYS, event, event_counts, xadd_all
from tests.support import HUNG_AFTER_S, experiment_doc, stream_length, wait_for

ROOT = Path(__file__).resolve().parents[2]
STREAM = KEYS.events_stream()
DAY = date(2026, 11, 27)
AT = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def draws(*values: float) -> Iterator[float]:
    return iter(values)


def context(**extra: Any) -> PageContext:
    fields: dict[str, Any] = {
        "visitor": "reader-000001",
        "placement": Placement.article_end,
        "device": Device.mobile,
        "country": "US",
        "language": "en",
        "section": "world",
        "tags": frozenset({"energy", "climate"}),
        "article_views": 3,
    }
    return PageContext(**{**fields, **extra})


def decision(n: int, day: date = DAY, **extra: Any) -> LoggedDecision:
    at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    fields: dict[str, Any] = {
        "entry_id": f"dec-{day.isoformat()}-{n:05d}",
        "decided_ms": int(at.timestamp() * 1000),
        "placement": Placement.article_end,
        "outcome": "not_targeted",
        "sample_rate": 0.5,
        "device": Device.desktop,
        "country": "GB",
    }
    return LoggedDecision(**{**fields, **extra})


def rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        result = conn.execute(select(decision_log).order_by(decision_log.c.decided_at))
        return [dict(row) for row in result.mappings()]


def flusher(client: redis_lib.Redis, engine: Engine, **options: Any) -> Flusher:
    options.setdefault("batch_size", 100)
    options.setdefault("today", lambda: DAY)
    return Flusher(
        PartitionedStreams(client, KEYS, "test-flusher"),
        EventWriter(engine),
        decision_log=DecisionLogRepo(engine),
        **options,
    )


def test_sampled_decisions_travel_with_events_into_decision_log(
    clean_db: Engine, redis_client: redis_lib.Redis
) -> None:
    sampler = DecisionSampler(
        redis_client, KEYS, 0.25, random_source=draws(0.5, 0.1, 0.9, 0.2).__next__
    )
    assert [sampler.draw() for _ in range(4)] == [False, True, False, True]
    experiment = parse_experiment(experiment_doc())
    shown = Outcome(None, experiment, experiment.variants[1])
    sampler.record(context(), shown, False, AT)
    sampler.record(
        context(country=None, device=Device.tablet, tags=frozenset(), language=None),
        Outcome(Reason.not_targeted),
        True,
        AT + timedelta(minutes=1),
    )
    xadd_all(redis_client, [event(f"ev-{i}") for i in range(3)])
    assert sampler.flush() and sampler.pending() == 0

    counts = flusher(redis_client, clean_db).run_once()

    assert (counts.entries, counts.inserted, counts.decisions, counts.malformed) == (5, 3, 2, 0)
    assert event_counts(clean_db) == (3, 3)
    first, second = rows(clean_db)
    assert {k: first[k] for k in first if k not in ("id", "entry_id")} == {
        "decided_at": AT,
        "day": DAY,
        "placement": "article-end",
        "outcome": "shown",
        "experiment_key": "monthly-ask",
        "variant_key": "five-dollars",
        "country": "US",
        "device": "mobile",
        "language": "en",
        "section": "world",
        "tags": ["climate", "energy"],
        "article_views": 3,
        "supporter": False,
        "sample_rate": 0.25,
    }
    assert (second["outcome"], second["experiment_key"], second["country"]) == (
        "not_targeted",
        None,
        None,
    )
    assert (second["device"], second["tags"], second["supporter"]) == ("tablet", [], True)
    assert stream_length(redis_client, KEYS) == 0


def test_replayed_decisions_are_stored_once(
    clean_db: Engine, redis_client: redis_lib.Redis
) -> None:
    class AckFailsOnce(EventStream):
        failed = False

        def ack(self, batch: Any) -> None:
            if not self.failed:
                self.failed = True
                raise redis_lib.ConnectionError("Redis went away after the commit")
            super().ack(batch)

    pipe = redis_client.pipeline(transaction=False)
    for n in range(150):
        pipe.xadd(STREAM, decision(n).to_fields())  # type: ignore[arg-type]
    pipe.execute()
    first = Flusher(
        AckFailsOnce(redis_client, KEYS),
        EventWriter(clean_db),
        batch_size=100,
        decision_log=DecisionLogRepo(clean_db),
    )
    with pytest.raises(redis_lib.ConnectionError):
        first.run_once()
    assert len(rows(clean_db)) == 100  # committed, not acked

    counts = flusher(redis_client, clean_db).run_once()
    assert (counts.entries, counts.decisions) == (150, 50)
    assert len(rows(clean_db)) == 150
    # The writer alone: the same entries again, and the same entry twice in one batch.
    writer = EventWriter(clean_db)
    again = [decision(0), decision(0), decision(7)]
    assert writer.write(prepare([], again)).decisions == 0
    assert len(rows(clean_db)) == 150


def test_malformed_or_unfit_decisions_are_set_aside(
    clean_db: Engine, redis_client: redis_lib.Redis
) -> None:
    good = decision(1)
    redis_client.xadd(STREAM, good.to_fields())  # type: ignore[arg-type]
    redis_client.xadd(STREAM, {**good.to_fields(), "id": "bad-outcome", "o": "bored"})
    wide = decision(2, country="USA")  # parses, but country is two letters in SQL
    redis_client.xadd(STREAM, wide.to_fields())  # type: ignore[arg-type]

    counts = flusher(redis_client, clean_db).run_once()

    assert (counts.entries, counts.decisions, counts.malformed) == (3, 1, 2)
    assert [r["entry_id"] for r in rows(clean_db)] == [good.entry_id]
    stream = EventStream(redis_client, KEYS)
    dead = {fields["id"]: fields["_error"] for _, fields in stream.dead_letters()}
    assert dead["bad-outcome"].startswith("ValueError: unknown outcome")
    assert dead[wide.entry_id].startswith("country longer than 2 characters")
    assert (stream.pending_count(), stream.length()) == (0, 0)


def _insert(engine: Engine, decisions: list[LoggedDecision]) -> None:
    with engine.begin() as conn:
        insert_decisions(conn, decisions)


def test_retention_deletes_old_days_in_batches(clean_db: Engine) -> None:
    today = date(2026, 11, 28)
    days = [today - timedelta(days=d) for d in (45, 31, 30, 0)]
    _insert(clean_db, [decision(n, day) for day in days for n in range(3)])
    repo = DecisionLogRepo(clean_db)

    assert repo.delete_days_before(today - timedelta(days=40), batch=2) == 3
    assert repo.delete_days_before(today - timedelta(days=30), batch=2) == 3
    assert sorted({r["day"] for r in rows(clean_db)}) == [today - timedelta(days=30), today]
    assert repo.delete_days_before(today - timedelta(days=30)) == 0


def test_the_flusher_applies_retention_in_its_maintenance(
    clean_db: Engine, redis_client: redis_lib.Redis
) -> None:
    today = date(2026, 11, 28)
    _insert(clean_db, [decision(n, today - timedelta(days=8)) for n in range(5)])
    _insert(clean_db, [decision(n, today - timedelta(days=6)) for n in range(5)])
    worker = flusher(
        redis_client,
        clean_db,
        today=lambda: today,
        decision_retention_days=7,
        block_ms=20,
        maintenance_every_s=0.01,
    )
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,))
    thread.start()
    try:
        wait_for(lambda: len(rows(clean_db)) <= 5, "the old days to go")
    finally:
        stop.set()
        thread.join(timeout=HUNG_AFTER_S)
    assert not thread.is_alive()
    assert {r["day"] for r in rows(clean_db)} == {today - timedelta(days=6)}


def test_redis_failures_keep_entries_queued_until_redis_answers(
    redis_client: redis_lib.Redis,
) -> None:
    down = redis_lib.Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0))
    sampler = DecisionSampler(down, KEYS, 1.0, linger_s=60)
    sampler.record(context(), Outcome(Reason.capped), False, AT)
    assert sampler.flush() is False
    assert sampler.pending() == 1
    # The same queue, once Redis answers: nothing was lost.
    sampler._client = redis_client
    assert sampler.flush() is True
    assert stream_length(redis_client, KEYS) == 1


def test_the_writer_thread_sends_without_being_asked(redis_client: redis_lib.Redis) -> None:
    sampler = DecisionSampler(redis_client, KEYS, 1.0, linger_s=0.01)
    for _ in range(3):
        sampler.record(context(), Outcome(Reason.snoozed), False, AT)
    wait_for(lambda: stream_length(redis_client, KEYS) >= 3, "the writer thread's XADDs")
    # The XADDs land before the writer has read their replies; flush() waits for its send to
    # end (one lock), so no reply is still in flight when the fixture closes the client (which
    # would fail that send and have it sent again into the next test's Redis).
    assert sampler.flush()
    assert stream_length(redis_client, KEYS) == 3
    assert sampler.pending() == 0


def test_flush_once_drains_sampled_decisions(
    clean_db: Engine, redis_client: redis_lib.Redis, env: dict[str, str]
) -> None:
    # Real time: `flush --once` applies retention against today's date.
    now = datetime.now(UTC)
    sampler = DecisionSampler(redis_client, KEYS, 0.5)
    for n in range(4):
        sampler.record(context(), Outcome(Reason.holdout), False, now - timedelta(seconds=n))
    assert sampler.flush()
    # A dead flusher took them and left them pending: --once claims them too.
    taken = 0
    for p in range(KEYS.partitions):
        EventStream(redis_client, KEYS, p).ensure_group()
        if taken < 2:
            reply = redis_client.xreadgroup(
                "flusher", "dead-host", {KEYS.events_stream(p): ">"}, count=2 - taken
            )
            taken += len(reply[0][1]) if reply else 0
    assert taken == 2
    process = subprocess.run(
        [sys.executable, "-m", "service.cli", "flush", "--once"],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"},
        cwd=ROOT,
        capture_output=True,
        timeout=HUNG_AFTER_S,
    )
    assert process.returncode == 0, process.stderr.decode()
    assert [r["outcome"] for r in rows(clean_db)] == ["holdout"] * 4
    with clean_db.connect() as conn:
        assert conn.execute(select(func.sum(1.0 / decision_log.c.sample_rate))).scalar() == 8.0
    assert stream_length(redis_client, KEYS) == 0
