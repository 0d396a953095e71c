"""Flushers sharing the event partitions: fair shares, take-over of a dead flusher's
partitions, and exactly-once into SQL through a kill, on one Redis and on a cluster."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import redis as redis_lib
from sqlalchemy import Engine

from service.domain.events import EventRecord
from service.store.redis.event_stream import EventStream
from service.store.redis.flusher_leases import PartitionLeases
from service.store.redis.keys import Keys
from tests.integration.flush_support import event, event_counts, flush_process
from tests.support import HUNG_AFTER_S, stream_length, wait_for

ROOT = Path(__file__).resolve().parents[2]
KEYS = Keys("sf")


def spread_traffic(n: int, prefix: str) -> list[EventRecord]:
    """n events of n // 5 visitors, so that every partition gets some."""
    return [
        event(
            f"{prefix}-{i:06d}",
            ("impression", "view", "click")[i % 3],
            at=timedelta(seconds=i % 3600),
            visitor=f"reader-{i % max(1, n // 5):06d}",
            variant=("control", "five-dollars")[i % 2],
        )
        for i in range(n)
    ]


def xadd_partitioned(client: redis_lib.Redis, records: list[EventRecord]) -> None:
    """As the events script does: each visitor's events into the visitor's partition."""
    pipe = client.pipeline(transaction=False)
    for record in records:
        stream = KEYS.events_stream(KEYS.partition_of(record.visitor))
        pipe.xadd(stream, record.to_fields())  # type: ignore[arg-type]
    pipe.execute()


def wait_until(condition: Callable[[], object], what: str) -> None:
    """On a condition, not a deadline: a busy machine may take its time (HUNG_AFTER_S ends
    only a run that is stuck)."""
    wait_for(condition, what, poll_s=0.02)


def test_live_flushers_split_the_partitions_and_outlive_each_other(
    redis_client: redis_lib.Redis,
) -> None:
    now = int(time.time() * 1000)
    a = PartitionLeases(redis_client, KEYS, "flusher-a", ttl_ms=1500)
    b = PartitionLeases(redis_client, KEYS, "flusher-b", ttl_ms=1500)
    first = a.refresh(now)
    assert (first.owned, first.acquired) == (frozenset(range(16)), frozenset(range(16)))
    # b joins: a holds everything, so b waits until a gives up its extra half.
    assert b.refresh(now).owned == frozenset()
    assert len(a.refresh(now).owned) == 8
    joined = b.refresh(now)
    assert len(joined.owned) == 8 and joined.acquired == joined.owned
    assert a.refresh(now).owned.isdisjoint(joined.owned)

    # a dies (stops refreshing): once its leases and heartbeat expire, b takes everything.
    def b_has_all() -> bool:
        return b.refresh(int(time.time() * 1000)).owned == frozenset(range(16))

    wait_until(b_has_all, "b to take over a's partitions")


def test_a_partition_count_once_used_is_still_drained(redis_client: redis_lib.Redis) -> None:
    PartitionLeases(redis_client, Keys("sf", 32), "wide").refresh(int(time.time() * 1000))
    narrow = PartitionLeases(redis_client, KEYS, "narrow").refresh(int(time.time() * 1000))
    assert narrow.partitions == 32


def test_two_flushers_share_the_work_and_a_killed_one_loses_and_doubles_nothing(
    clean_db: Engine, redis_client: redis_lib.Redis, env: dict[str, str]
) -> None:
    records = spread_traffic(30_000, "share")
    xadd_partitioned(redis_client, records)
    assert all(redis_client.xlen(KEYS.events_stream(p)) for p in range(16))
    first, second = (
        flush_process(env, "--batch-size", "500"),
        flush_process(env, "--batch-size", "500"),
    )
    try:
        # Both at work, each on its own partitions: every partition's group has consumers.
        wait_until(lambda: _consumers(redis_client) == 2, "both flushers to take partitions")
        wait_until(lambda: event_counts(clean_db)[0] >= 3000, "the first writes")
        first.kill()  # SIGKILL: no handler, its batch in flight stays pending
        first.wait(timeout=HUNG_AFTER_S)
        # The survivor takes the dead one's partitions once their leases expire.
        wait_until(lambda: event_counts(clean_db)[0] >= 30_000, "every event in SQL")
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        _, err = second.communicate(timeout=HUNG_AFTER_S)
    assert second.returncode == 0, err.decode()
    assert event_counts(clean_db) == (30_000, 30_000)
    once = flush_process(env, "--batch-size", "500", "--once")
    _, err = once.communicate(timeout=HUNG_AFTER_S)
    assert once.returncode == 0, err.decode()
    assert event_counts(clean_db) == (30_000, 30_000)
    assert stream_length(redis_client, KEYS) == 0
    assert sum(EventStream(redis_client, KEYS, p).pending_count() for p in range(16)) == 0


def _consumers(client: redis_lib.Redis) -> int:
    names: set[str] = set()
    for p in range(16):
        stream = KEYS.events_stream(p)
        try:
            names.update(c["name"] for c in client.xinfo_consumers(stream, "flusher"))
        except redis_lib.ResponseError:  # no group yet
            continue
    return len(names)
