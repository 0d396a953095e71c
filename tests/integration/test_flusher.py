"""The flusher from the Redis stream into SQL: draining, failures, kills, trimming."""

from __future__ import annotations

import signal
import subprocess
import threading
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest
import redis as redis_lib
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError

from service.domain.events import EventRecord
from service.jobs.flusher import Flusher
from service.store.redis.event_stream import EventStream
from service.store.sql.event_tables import visitor_outcomes
from service.store.sql.event_writer import EventWriter, WriteResult
from tests.integration.flush_support import KEYS, event, event_counts, flush_process, xadd_all
from tests.support import HUNG_AFTER_S, wait_for

ROOT = Path(__file__).resolve().parents[2]
STREAM = KEYS.events_stream()


def traffic(n: int, prefix: str = "ev") -> list[EventRecord]:
    """n events over n // 4 visitors: mostly impressions and views."""
    kinds = ["impression", "view", "impression", "click", "view"]
    return [
        event(
            f"{prefix}-{i:06d}",
            kinds[i % len(kinds)],
            at=timedelta(seconds=i),
            visitor=f"reader-{i % max(1, n // 4):06d}",
            variant=("control", "five-dollars")[i % 2],
        )
        for i in range(n)
    ]


def flusher(client: redis_lib.Redis, writer: EventWriter, **options: object) -> Flusher:
    options.setdefault("batch_size", 100)
    return Flusher(EventStream(client, KEYS), writer, **options)  # type: ignore[arg-type]


class FailingWriter(EventWriter):
    """Fails its first `failures` writes as if the database were down."""

    def __init__(self, engine: Engine, failures: int) -> None:
        super().__init__(engine)
        self.failures = failures

    def write(self, records: Sequence[EventRecord]) -> WriteResult:
        if self.failures > 0:
            self.failures -= 1
            raise OperationalError("INSERT", {}, ConnectionRefusedError("database is down"))
        return super().write(records)


def test_once_drains_everything_including_a_dead_consumers_entries(
    clean_db: Engine, redis_client: redis_lib.Redis
) -> None:
    stream = EventStream(redis_client, KEYS)
    stream.ensure_group()
    records = traffic(1000)
    xadd_all(redis_client, records[:600])
    # A flusher that read 250 entries and died before acking them.
    redis_client.xreadgroup("flusher", "dead-host-1", {STREAM: ">"}, count=250)
    xadd_all(redis_client, records[600:])
    redis_client.xadd(STREAM, {"id": "broken", "t": "nonsense"})
    xadd_all(redis_client, [event("too-wide", country="USA")])  # parses, cannot be stored
    assert stream.pending_count() == 250

    worker = flusher(redis_client, EventWriter(clean_db))
    counts = worker.run_once()

    assert (counts.entries, counts.inserted, counts.malformed) == (1002, 1000, 2)
    assert event_counts(clean_db) == (1000, 1000)
    assert (stream.pending_count(), stream.length()) == (0, 0)
    dead = {fields["id"]: fields["_error"] for _, fields in stream.dead_letters()}
    assert dead.keys() == {"broken", "too-wide"}
    assert dead["broken"].startswith("ValueError")
    assert dead["too-wide"].startswith("country longer than 2 characters")
    # The drained flusher leaves the group; the dead one stays until idle for a day.
    consumers = {c["name"] for c in redis_client.xinfo_consumers(STREAM, "flusher")}
    assert consumers == {"dead-host-1"}


def test_entries_deleted_while_pending_are_acked(
    clean_db: Engine, redis_client: redis_lib.Redis
) -> None:
    """Visitor erasure deletes stream entries, pending ones included."""
    stream = EventStream(redis_client, KEYS)
    stream.ensure_group()
    xadd_all(redis_client, traffic(10))
    delivered = redis_client.xreadgroup("flusher", "dead-host-3", {STREAM: ">"}, count=10)
    entry_ids = [entry_id for entry_id, _ in delivered[0][1]]  # type: ignore[index]
    redis_client.xdel(STREAM, *entry_ids[:3])

    counts = flusher(redis_client, EventWriter(clean_db)).run_once()
    assert (counts.inserted, counts.malformed) == (7, 0)
    assert (stream.pending_count(), stream.length()) == (0, 0)


def test_a_claim_pass_stops_at_the_entries_pending_when_it_began(
    redis_client: redis_lib.Redis,
) -> None:
    stream = EventStream(redis_client, KEYS)
    stream.ensure_group()
    xadd_all(redis_client, traffic(6))
    redis_client.xreadgroup("flusher", "dead", {STREAM: ">"}, count=3)
    last = stream.last_pending_id()
    redis_client.xreadgroup("flusher", "alive", {STREAM: ">"}, count=3)  # read after it began

    batch, cursor = stream.claim("me", 3, min_idle_ms=0, end=last)
    assert len(batch) == 3 and cursor == "0-0"
    assert [r.event_id for r in batch.records] == ["ev-000000", "ev-000001", "ev-000002"]
    assert stream.pending_count() == 6  # claimed, not acked; "alive" keeps its own


def test_sql_failure_acks_nothing_and_a_later_run_writes_each_event_once(
    clean_db: Engine, redis_client: redis_lib.Redis
) -> None:
    stream = EventStream(redis_client, KEYS)
    xadd_all(redis_client, traffic(300))
    with pytest.raises(OperationalError):
        flusher(redis_client, FailingWriter(clean_db, failures=1)).run_once()
    # The batch in hand (and the one read ahead while it was written): read, none acked.
    assert stream.pending_count() in (100, 200)
    assert stream.length() == 300
    assert event_counts(clean_db) == (0, 0)

    counts = flusher(redis_client, EventWriter(clean_db)).run_once()
    assert (counts.inserted, counts.duplicates) == (300, 0)
    assert event_counts(clean_db) == (300, 300)
    assert (stream.pending_count(), stream.length()) == (0, 0)


def test_a_batch_written_but_not_acked_is_not_counted_twice(
    clean_db: Engine, redis_client: redis_lib.Redis
) -> None:
    class AckFailsOnce(EventStream):
        failed = False

        def ack(self, batch: object) -> None:
            if not self.failed:
                self.failed = True
                raise redis_lib.ConnectionError("Redis went away after the commit")
            super().ack(batch)  # type: ignore[arg-type]

    xadd_all(redis_client, traffic(200))
    first = Flusher(AckFailsOnce(redis_client, KEYS), EventWriter(clean_db), batch_size=100)
    with pytest.raises(redis_lib.ConnectionError):
        first.run_once()
    counts = flusher(redis_client, EventWriter(clean_db)).run_once()
    assert (counts.entries, counts.inserted, counts.duplicates) == (200, 100, 100)
    assert event_counts(clean_db) == (200, 200)
    with clean_db.connect() as conn:
        impressions = conn.execute(select(func.sum(visitor_outcomes.c.impressions))).scalar()
    assert impressions == 80  # 2 of every 5 events, each counted once


def test_run_forever_backs_off_retries_and_claims_from_dead_consumers(
    clean_db: Engine, redis_client: redis_lib.Redis
) -> None:
    stream = EventStream(redis_client, KEYS)
    stream.ensure_group()
    xadd_all(redis_client, traffic(500))
    redis_client.xreadgroup("flusher", "dead-host-2", {STREAM: ">"}, count=150)
    writer = FailingWriter(clean_db, failures=3)
    worker = flusher(redis_client, writer, block_ms=50, claim_idle_ms=100, backoff_s=(0.01, 0.05))
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,))
    thread.start()
    try:
        wait_for(lambda: event_counts(clean_db)[0] >= 500, "500 events")
    finally:
        stop.set()
        thread.join(timeout=HUNG_AFTER_S)
    assert not thread.is_alive()
    assert writer.failures == 0
    assert event_counts(clean_db) == (500, 500)
    assert worker.counts.inserted == 500
    assert stream.pending_count() == 0
    assert stream.length() == 0  # trimmed on the way out


def test_trim_keeps_every_entry_not_yet_acknowledged(redis_client: redis_lib.Redis) -> None:
    stream = EventStream(redis_client, KEYS)
    stream.ensure_group()
    xadd_all(redis_client, traffic(10))
    redis_client.xreadgroup("flusher", "a", {STREAM: ">"}, count=3)  # pending, never acked
    delivered = redis_client.xreadgroup("flusher", "b", {STREAM: ">"}, count=4)
    ids = [entry_id for entry_id, _ in delivered[0][1]]  # type: ignore[index]
    redis_client.xack(STREAM, "flusher", *ids)
    assert stream.trim() == 0  # the lowest entry is still pending for "a"

    pending_a = redis_client.xreadgroup("flusher", "a", {STREAM: "0"}, count=3)
    redis_client.xack(STREAM, "flusher", *[i for i, _ in pending_a[0][1]])  # type: ignore[index]
    assert stream.trim() == 7  # acked ones go; the 3 never delivered stay
    assert stream.length() == 3


def _wait_for_events(engine: Engine, at_least: int, process: subprocess.Popen[bytes]) -> None:
    """Until the flusher has written `at_least` events, however long a busy machine takes
    to start it; fails at once if it exits."""
    wait_for(lambda: event_counts(engine)[0] >= at_least, f"{at_least} events", process=process)


def test_sigkill_mid_run_then_once_leaves_every_event_exactly_once(
    clean_db: Engine, redis_client: redis_lib.Redis, env: dict[str, str]
) -> None:
    records = traffic(8000, prefix="kill")
    xadd_all(redis_client, records)
    process = flush_process(env, "--batch-size", "250")
    try:
        _wait_for_events(clean_db, 500, process)
        # Frozen the moment a commit is seen, so that whatever the machine's load it cannot
        # run on to the end before the kill: the next batch is in flight (read, maybe being
        # written, not acked) and most of the stream is still to do.
        process.send_signal(signal.SIGSTOP)
    finally:
        process.kill()  # SIGKILL: no handler runs
        process.wait(timeout=HUNG_AFTER_S)
    written = event_counts(clean_db)[0]
    assert 0 < written < 8000, "kill the flusher partway for this test to mean anything"

    once = flush_process(env, "--once")
    out, err = once.communicate(timeout=HUNG_AFTER_S)
    assert once.returncode == 0, err.decode()
    assert b"flushed" in out
    assert event_counts(clean_db) == (8000, 8000)
    with clean_db.connect() as conn:
        totals = conn.execute(
            select(func.sum(visitor_outcomes.c.impressions), func.sum(visitor_outcomes.c.views))
        ).one()
    assert tuple(totals) == (3200, 3200)  # counted once each, whichever run wrote them
    stream = EventStream(redis_client, KEYS)
    assert (stream.pending_count(), stream.length()) == (0, 0)


def test_sigterm_finishes_the_batch_and_exits_zero(
    clean_db: Engine, redis_client: redis_lib.Redis, env: dict[str, str]
) -> None:
    xadd_all(redis_client, traffic(5000, prefix="term"))
    process = flush_process(env, "--batch-size", "250")
    _wait_for_events(clean_db, 250, process)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=HUNG_AFTER_S)
    assert process.returncode == 0, err.decode()
    # Whatever it took, it wrote and acked: nothing is left pending for it.
    stream = EventStream(redis_client, KEYS)
    assert stream.pending_count() == 0
    written = event_counts(clean_db)[0]
    assert written % 250 == 0 and stream.length() == 5000 - written
