"""Erasure of one visitor's hot state."""

from __future__ import annotations

from service.store.redis.client import RedisClient
from service.store.redis.keys import Keys


def erase_visitor(client: RedisClient, keys: Keys, visitor: str) -> int:
    """Delete every key of the visitor (all in the visitor's hash-tag slot, and named by
    keys.py, so nothing scans the keyspace); returns how many there were."""
    return int(client.delete(*keys.visitor_keys(visitor)))


def erase_stream_entries(client: RedisClient, keys: Keys, visitor: str) -> int:
    """Delete the visitor's events still waiting for the flusher.

    They are in the visitor's partition, unless EVENT_PARTITIONS changed while they waited,
    so every partition is looked at (and the stream of installs from before partitioning). A
    stream holds only what the flusher has not written yet (it trims behind itself), so a
    scan in pages is short. Entries deleted here are simply never written to SQL.
    """
    return sum(_erase_from(client, stream, visitor) for stream in keys.all_event_streams())


def _erase_from(client: RedisClient, stream: str, visitor: str) -> int:
    start, removed = "-", 0
    while True:
        page: list[tuple[str, dict[str, str]]] = client.xrange(stream, min=start, count=1000)  # type: ignore[assignment]
        if not page:
            return removed
        ids = [entry_id for entry_id, fields in page if fields.get("u") == visitor]
        if ids:
            removed += int(client.xdel(stream, *ids))
        start = "(" + page[-1][0]
