"""Redis adapters on the configured server, and the embedded default."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import redis as redis_lib

from service.settings import Settings
from service.store.redis import config_version
from service.store.redis.client import connect
from service.store.redis.keys import Keys
from service.store.redis.visitors import erase_visitor


def test_config_version_never_repeats_a_value(redis_client: redis_lib.Redis) -> None:
    keys = Keys("sf")
    assert config_version.current(redis_client, keys) == 0
    first = config_version.bump(redis_client, keys)
    second = config_version.bump(redis_client, keys)
    assert second > first > 0
    assert config_version.current(redis_client, keys) == second
    time.sleep(0.001)
    redis_client.flushdb()  # a flushed or replaced Redis starts from the clock, not from 1
    assert config_version.bump(redis_client, keys) > first


def test_visitor_keys_share_one_cluster_slot() -> None:
    keys = Keys("sf")
    ledger = keys.ledger("reader-123456")
    tag = ledger[ledger.index("{") + 1 : ledger.index("}")]
    assert tag == "v:reader-123456"


def test_event_partitions_spread_evenly_over_the_slots_and_keep_their_keys_together() -> None:
    from redis.crc import key_slot

    for count in (1, 3, 16, 24, 64):
        keys = Keys("sf", count)
        for p in range(count):
            slot = key_slot(keys.events_stream(p).encode())
            # The p-th share of the 16384 slots: whatever contiguous ranges the masters own,
            # the partitions fall evenly among them.
            assert p * 16384 // count <= slot < (p + 1) * 16384 // count
            same = {
                key_slot(name.encode())
                for name in (
                    keys.events_stream(p),
                    keys.events_dead_letter(p),
                    keys.dedupe_base(p) + "123:45",
                    keys.live_counters(p, "ask", "2026-11-28"),
                    keys.live_visitors(p, "ask", "control", "2026-11-28"),
                )
            }
            assert same == {slot}
    keys = Keys("sf", 16)
    visitors = [f"reader-{n:06d}" for n in range(16_000)]
    counts = [0] * 16
    for visitor in visitors:
        counts[keys.partition_of(visitor)] += 1
    assert max(counts) < 1.1 * 1000 and min(counts) > 0.9 * 1000


def test_erase_removes_only_that_visitors_keys(redis_client: redis_lib.Redis) -> None:
    keys = Keys("sf")
    redis_client.hset(keys.ledger("reader-a-1234"), "imp", 1)
    redis_client.hset(keys.ledger("reader-b-1234"), "imp", 1)
    # A visitor id with glob characters cannot widen the match to other visitors.
    assert erase_visitor(redis_client, keys, "reader-*") == 0
    assert erase_visitor(redis_client, keys, "reader-a-1234") == 1
    assert redis_client.exists(keys.ledger("reader-b-1234"))


def test_embedded_default_is_shared_between_processes(tmp_path: Path) -> None:
    settings = Settings.from_env({"VAR_DIR": str(tmp_path), "REDIS_TIMEOUT_MS": "2000"})
    assert settings.redis_url is None
    client = connect(settings)
    client.set("sf:probe", "from-parent")
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from service.settings import Settings; "
            "from service.store.redis.client import connect; "
            "c = connect(Settings.from_env({'VAR_DIR': sys.argv[1], 'REDIS_TIMEOUT_MS': '2000'})); "
            "print(c.get('sf:probe'))",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert child.stdout.strip() == "from-parent"
    assert (tmp_path / "redis.db.settings").exists()
