"""The events and ledger scripts on a real Redis (or Redis Cluster)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis as redis_lib
from redis.cluster import RedisCluster

from service.domain.events import EventRecord, EventType, Source
from service.domain.ledger import impression_ops
from service.schemas.experiment import parse_experiment
from service.store.redis.event_ingest import EventIngest, OverLimit, Recorded
from service.store.redis.keys import Keys
from tests.support import experiment_doc, live_counts, stream_entries

KEYS = Keys("sf")
WINDOW = 3600  # seconds during which a retry could still be accepted
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def ingest(client: redis_lib.Redis, limit: int = 0) -> EventIngest:
    return EventIngest(
        client, KEYS, dedupe_window=WINDOW, ledger_ttl=7200, rate_limit_per_minute=limit
    )


def record(
    event_id: str, type_: EventType = EventType.impression, visitor: str = "reader-000001"
) -> EventRecord:
    return EventRecord(
        event_id, type_, "ask", "control", visitor, 1_000_000, 1_000_001, Source.client
    )


def mark_stems(client: redis_lib.Redis, partition: int | None = None) -> list[str]:
    """Where the marks are: a cluster's under each partition's stem (its slot), a single
    server's under one stem for every partition."""
    if not isinstance(client, RedisCluster):
        return [KEYS.dedupe_single_server_base()]
    return [KEYS.dedupe_base(p) for p in range(KEYS.partitions) if partition in (None, p)]


def test_dedupe_marks_and_stream(redis_client: redis_lib.Redis) -> None:
    store = ingest(redis_client)
    first = store.record([record("event-0001"), record("event-0002")], {}, "1.2.3.4", NOW)
    assert first == Recorded((True, True))
    second = store.record([record("event-0002"), record("event-0003")], {}, "1.2.3.4", NOW)
    assert second == Recorded((False, True))
    entries = stream_entries(redis_client, KEYS)
    assert [f["id"] for _, f in entries] == ["event-0001", "event-0002", "event-0003"]
    partition = KEYS.partition_of("reader-000001")
    assert len(redis_client.xrange(KEYS.events_stream(partition))) == 3
    assert redis_client.pfcount(KEYS.live_visitors(partition, "ask", "control", "2026-11-28")) == 1
    assert live_counts(redis_client, KEYS, "ask", "2026-11-28") == {"control:impression": "3"}
    live = KEYS.live_counters(partition, "ask", "2026-11-28")
    assert 0 < redis_client.ttl(live) <= 3 * 86_400


def test_a_mark_lives_as_long_as_a_retry_could_be_accepted_and_no_longer(
    redis_client: redis_lib.Redis,
) -> None:
    store = ingest(redis_client)
    assert store.record([record("event-0001")], {}, "1.2.3.4", NOW) == Recorded((True,))
    # Every retry within the window is a duplicate, across generation boundaries.
    for minutes in (1, 14, 16, 31, 46, 59):
        later = NOW + timedelta(minutes=minutes)
        assert store.record([record("event-0001")], {}, "1.2.3.4", later) == Recorded((False,))
    # Past the window plus a generation the event could not be accepted any more (its token
    # has expired), and the mark is no longer consulted.
    assert store.record(
        [record("event-0001")], {}, "1.2.3.4", NOW + timedelta(hours=1, minutes=31)
    ) == Recorded((True,))
    # No mark key outlives the window by more than a generation (a quarter) and a minute.
    [stem] = mark_stems(redis_client, KEYS.partition_of("reader-000001"))
    marks = [
        k for k in redis_client.scan_iter(match=f"{stem}*", count=1000) if ":" in k[len(stem) :]
    ]
    assert marks
    assert all(0 < redis_client.ttl(k) <= WINDOW * 5 // 4 + 60 for k in marks)


def test_marks_are_compact_hashes_not_a_key_per_event(redis_client: redis_lib.Redis) -> None:
    store = ingest(redis_client)
    visitors = [f"reader-{n:06d}" for n in range(40)]
    for batch in range(400):  # 20,000 events, a visitor's 50 at a time
        visitor = visitors[batch % 40]
        records = [record(f"event-{batch:03d}-{n:02d}", visitor=visitor) for n in range(50)]
        assert store.record(records, {}, "1.2.3.4", NOW) == Recorded((True,) * 50)
    marks = [
        key
        for stem in mark_stems(redis_client)
        for key in redis_client.scan_iter(match=f"{stem}*", count=1000)
    ]
    # A generation starts with 256 buckets a partition (and one hash saying so): far fewer
    # keys than events, a few dozen bytes a mark.
    assert len(marks) <= KEYS.partitions * 257
    assert sum(redis_client.memory_usage(k) or 0 for k in marks) / 20_000 < 60
    # Every one of them is still recognised.
    again = store.record([record("event-007-07", visitor=visitors[7])], {}, "1.2.3.4", NOW)
    assert again == Recorded((False,))


def test_a_batch_across_partitions_lands_in_each_visitors_partition(
    redis_client: redis_lib.Redis,
) -> None:
    store = ingest(redis_client, limit=100)
    visitors = [f"reader-{n:06d}" for n in range(20)]
    assert len({KEYS.partition_of(v) for v in visitors}) > 1
    batch = [record(f"event-{n:06d}", visitor=v) for n, v in enumerate(visitors)]
    assert store.record(batch, {}, "1.2.3.4", NOW) == Recorded((True,) * 20)
    assert store.record(batch[:5], {}, "1.2.3.4", NOW) == Recorded((False,) * 5)
    for visitor in visitors:
        stream = KEYS.events_stream(KEYS.partition_of(visitor))
        assert visitor in {f["u"] for _, f in redis_client.xrange(stream)}
    assert len(stream_entries(redis_client, KEYS)) == 20


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
    store.record([], {"reader-000001": ops}, "1.2.3.4", NOW)
    field = redis_client.hget(KEYS.ledger("reader-000001"), "i:ask")
    # Base 36 seconds: 864000 = "iio0", 907200 = "jg00".
    assert field == "iio0/bbbb jg00/cccc"
    old = impression_ops(experiment, 20 * day, "dddddddd")
    store.record([], {"reader-000001": old}, "1.2.3.4", NOW)
    assert redis_client.hget(KEYS.ledger("reader-000001"), "i:ask") == "111c0/dddd"
    assert redis_client.hget(KEYS.ledger("reader-000001"), "li:ask") == f"{20 * day:.3f}"
    assert 0 < redis_client.ttl(KEYS.ledger("reader-000001")) <= 7200


def test_a_ledger_kept_under_its_former_key_is_moved_not_forgotten(
    redis_client: redis_lib.Redis,
) -> None:
    former = KEYS.former_ledger("reader-000009")
    # As an earlier version wrote it: decimal impression times with longer id prefixes.
    redis_client.hset(former, mapping={"a:ask": "control", "i:ask": "864000.000/bbbbbbbb"})
    experiment = parse_experiment(
        experiment_doc(key="ask", caps={"max_impressions": 3, "per_days": 30})
    )
    ops = impression_ops(experiment, 907_200.0, "cccccccc")
    ingest(redis_client).record([], {"reader-000009": ops}, "1.2.3.4", NOW)
    assert not redis_client.exists(former)
    ledger = redis_client.hgetall(KEYS.ledger("reader-000009"))
    assert ledger["a:ask"] == "control"
    assert ledger["i:ask"] == "864000.000/bbbbbbbb jg00/cccc"


def test_rate_limit_refuses_the_whole_batch(redis_client: redis_lib.Redis) -> None:
    store = ingest(redis_client, limit=2)
    for n in range(2):
        assert isinstance(store.record([record(f"event-000{n}")], {}, "5.6.7.8", NOW), Recorded)
    refused = store.record([record("event-0009")], {}, "5.6.7.8", NOW)
    assert isinstance(refused, OverLimit) and 1 <= refused.retry_after <= 60
    assert isinstance(store.record([record("event-0010")], {}, "9.9.9.9", NOW), Recorded)
    ids = [f["id"] for _, f in stream_entries(redis_client, KEYS)]
    assert "event-0009" not in ids and "event-0010" in ids
    # Refused touched nothing: the same event is new once the window allows it.
    redis_client.delete(KEYS.rate_limit("5.6.7.8"))
    assert store.record([record("event-0009")], {}, "5.6.7.8", NOW) == Recorded((True,))


def test_scripts_survive_a_flush(redis_client: redis_lib.Redis) -> None:
    store = ingest(redis_client)
    store.record([record("event-0001")], {}, "1.2.3.4", NOW)
    redis_client.script_flush()  # on every node of a cluster too (a restarted node)
    assert store.record([record("event-0002")], {}, "1.2.3.4", NOW) == Recorded((True,))


@pytest.mark.parametrize("as_cluster", [False, True])
def test_only_a_new_event_writes_its_ledger_updates(
    redis_client: redis_lib.Redis, as_cluster: bool
) -> None:
    """A duplicate id, or a batch refused over the rate limit, leaves the ledger as it was: no
    exposure (which the payment webhook credits), cap or snooze that SQL never counts. As a
    cluster does it too (the ledger in a second round trip), whatever the server is."""
    store = ingest(redis_client, limit=2)
    store._cluster = as_cluster or isinstance(redis_client, RedisCluster)
    experiment = parse_experiment(experiment_doc(key="ask"))
    first, other = "reader-000001", "reader-000029"  # one event partition: one set of marks
    assert KEYS.partition_of(first) == KEYS.partition_of(other)
    ops = impression_ops(experiment, 907_200.0, "event-0001")
    assert store.record(
        [record("event-0001", visitor=first)], {}, "1.2.3.4", NOW, record_ops=[ops]
    ) == Recorded((True,))
    assert redis_client.hget(KEYS.ledger(first), "li:ask") == "907200.000"
    reused = [record("event-0001", visitor=other)]
    assert store.record(reused, {}, "1.2.3.4", NOW, record_ops=[ops]) == Recorded((False,))
    assert not redis_client.exists(KEYS.ledger(other))
    refused = store.record(
        [record("event-0002", visitor=other)], {}, "1.2.3.4", NOW, record_ops=[ops]
    )
    assert isinstance(refused, OverLimit)
    assert not redis_client.exists(KEYS.ledger(other))


def test_on_one_server_an_id_is_one_event_whichever_reader_sends_it(
    redis_client: redis_lib.Redis,
) -> None:
    """As SQL's unique event id has it: the second reader's copy, in another partition, is a
    duplicate, counted live no more than SQL counts it."""
    if isinstance(redis_client, RedisCluster):
        pytest.skip("a cluster's marks are per partition (its slot); SQL refuses the second")
    store = ingest(redis_client)
    first, other = "reader-000001", "reader-000002"
    assert KEYS.partition_of(first) != KEYS.partition_of(other)
    assert store.record([record("event-0001", visitor=first)], {}, "1.2.3.4", NOW) == Recorded(
        (True,)
    )
    again = store.record([record("event-0001", visitor=other)], {}, "1.2.3.4", NOW)
    assert again == Recorded((False,))
    assert live_counts(redis_client, KEYS, "ask", "2026-11-28") == {"control:impression": "1"}


def test_marks_kept_per_partition_before_still_catch_a_retry(
    redis_client: redis_lib.Redis,
) -> None:
    """Marks written under the partition's own stem (as before one stem served every
    partition) are read until their generations end, then no longer."""
    if isinstance(redis_client, RedisCluster):
        pytest.skip("a cluster keeps its marks per partition")
    before = ingest(redis_client)
    before._cluster = True  # writes its marks as a cluster (and the service before) did
    assert before.record([record("event-0001")], {}, "1.2.3.4", NOW) == Recorded((True,))
    store = ingest(redis_client)
    for minutes in (0, 16, 59):  # the same generation, and the ones after it in the window
        later = NOW + timedelta(minutes=minutes)
        assert store.record([record("event-0001")], {}, "1.2.3.4", later) == Recorded((False,))
    assert store.record([record("event-0002")], {}, "1.2.3.4", NOW) == Recorded((True,))
    past = NOW + timedelta(hours=1, minutes=31)
    assert store.record([record("event-0001")], {}, "1.2.3.4", past) == Recorded((True,))
