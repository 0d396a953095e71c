"""Today's live counters as the results page reads them (store/redis/live_counters.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import redis as redis_lib

from service.domain.events import EventRecord, EventType, Source
from service.store.redis.event_ingest import EventIngest, Recorded
from service.store.redis.keys import Keys
from service.store.redis.live_counters import read_live

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
# One partition and this many readers, each with one impression: the day's HyperLogLog of
# readers estimates more of them than there are (found by trying counts; the estimate is
# deterministic, the same hash on every Redis).
READERS = 1027


def test_readers_never_exceed_impressions(redis_client: redis_lib.Redis) -> None:
    keys = Keys("sf", 1)
    store = EventIngest(
        redis_client, keys, dedupe_window=3600, ledger_ttl=7200, rate_limit_per_minute=0
    )
    records = [
        EventRecord(
            f"event-{n:06d}",
            EventType.impression,
            "ask",
            "control",
            f"reader-{n:06d}",
            1_000_000,
            1_000_001,
            Source.client,
        )
        for n in range(READERS)
    ]
    for start in range(0, READERS, 500):
        batch = records[start : start + 500]
        assert store.record(batch, {}, "1.2.3.4", NOW) == Recorded((True,) * len(batch))
    estimate = redis_client.pfcount(keys.live_visitors(0, "ask", "control", "2026-11-28"))
    assert estimate > READERS  # the mismatch staff saw: more readers than impressions

    (live,) = read_live(redis_client, keys, "ask", ["control"], NOW.date()) or []
    assert live.count("impression") == READERS
    assert live.visitors == READERS
