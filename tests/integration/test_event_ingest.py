"""The events and ledger scripts on a real Redis."""

from __future__ import annotations

import redis as redis_lib

from service.domain.events import EventRecord, EventType, Source
from service.domain.experiment_validation import parse_experiment
from service.domain.ledger import impression_ops
from service.store.redis.event_ingest import EventIngest, RateLimited, Recorded
from service.store.redis.keys import Keys
from tests.support import experiment_doc

KEYS = Keys("sf")


def ingest(client: redis_lib.Redis, limit: int = 0) -> EventIngest:
    return EventIngest(client, KEYS, dedupe_ttl=3600, ledger_ttl=7200, rate_limit_per_minute=limit)


def record(event_id: str, type_: EventType = EventType.impression) -> EventRecord:
    return EventRecord(
        event_id, type_, "ask", "control", "reader-000001", 1_000_000, 1_000_001, Source.client
    )


def test_dedupe_marks_and_stream(redis_client: redis_lib.Redis) -> None:
    store = ingest(redis_client)
    first = store.record([record("event-0001"), record("event-0002")], {}, "1.2.3.4", "2026-11-28")
    assert first == Recorded((True, True))
    second = store.record([record("event-0002"), record("event-0003")], {}, "1.2.3.4", "2026-11-28")
    assert second == Recorded((False, True))
    ids = [f["id"] for _, f in redis_client.xrange(KEYS.events_stream())]
    assert ids == ["event-0001", "event-0002", "event-0003"]
    assert 0 < redis_client.ttl(KEYS.event_seen("event-0001")) <= 3600
    assert redis_client.pfcount(KEYS.live_visitors("ask", "control", "2026-11-28")) == 1
    live = KEYS.live_counters("ask", "2026-11-28")
    assert redis_client.hget(live, "control:impression") == "3"
    assert 0 < redis_client.ttl(live) <= 3 * 86_400


def test_impression_set_is_idempotent_windowed_and_bounded(redis_client: redis_lib.Redis) -> None:
    store = ingest(redis_client)
    experiment = parse_experiment(
        experiment_doc(key="ask", caps={"max_impressions": 2, "per_days": 1})
    )
    day = 86_400.0
    ops = (
        impression_ops(experiment, 10 * day, "aaaaaaaa")
        + impression_ops(experiment, 10 * day, "aaaaaaaa")  # the same event again
        + impression_ops(experiment, 10 * day, "bbbbbbbb")  # same instant, other event
        + impression_ops(experiment, 10.5 * day, "cccccccc")
    )
    store.record([], {"reader-000001": ops}, "1.2.3.4", "d")
    field = redis_client.hget(KEYS.ledger("reader-000001"), "i:ask")
    assert field == f"{10 * day:.3f}/bbbbbbbb {10.5 * day:.3f}/cccccccc"
    old = impression_ops(experiment, 20 * day, "dddddddd")
    store.record([], {"reader-000001": old}, "1.2.3.4", "d")
    assert redis_client.hget(KEYS.ledger("reader-000001"), "i:ask") == f"{20 * day:.3f}/dddddddd"
    assert redis_client.hget(KEYS.ledger("reader-000001"), "li:ask") == f"{20 * day:.3f}"
    assert 0 < redis_client.ttl(KEYS.ledger("reader-000001")) <= 7200


def test_rate_limit_refuses_the_whole_batch(redis_client: redis_lib.Redis) -> None:
    store = ingest(redis_client, limit=2)
    for n in range(2):
        assert isinstance(store.record([record(f"event-000{n}")], {}, "5.6.7.8", "d"), Recorded)
    refused = store.record([record("event-0009")], {}, "5.6.7.8", "d")
    assert isinstance(refused, RateLimited) and 1 <= refused.retry_after <= 60
    assert isinstance(store.record([record("event-0010")], {}, "9.9.9.9", "d"), Recorded)
    ids = [f["id"] for _, f in redis_client.xrange(KEYS.events_stream())]
    assert "event-0009" not in ids


def test_scripts_survive_a_flush(redis_client: redis_lib.Redis) -> None:
    store = ingest(redis_client)
    store.record([record("event-0001")], {}, "1.2.3.4", "d")
    redis_client.script_flush()
    assert store.record([record("event-0002")], {}, "1.2.3.4", "d") == Recorded((True,))
