"""Erasure of one visitor's hot state."""

from __future__ import annotations

import redis

from service.store.redis.keys import Keys


def erase_visitor(client: redis.Redis, keys: Keys, visitor: str) -> int:
    """Delete every key in the visitor's hash-tag slot; returns how many there were.

    The ledger is deleted by name even if SCAN were to miss it; SCAN finds the rest.
    """
    names = {keys.ledger(visitor)}
    names.update(client.scan_iter(match=_escape(keys.visitor_pattern(visitor)), count=500))
    return int(client.delete(*names))


def erase_stream_entries(client: redis.Redis, keys: Keys, visitor: str) -> int:
    """Delete the visitor's events still waiting in the stream for the flusher.

    The stream holds only what the flusher has not written yet (it trims behind itself), so a
    scan in pages is short. Entries deleted here are simply never written to SQL.
    """
    stream, start, removed = keys.events_stream(), "-", 0
    while True:
        page: list[tuple[str, dict[str, str]]] = client.xrange(stream, min=start, count=1000)  # type: ignore[assignment]
        if not page:
            return removed
        ids = [entry_id for entry_id, fields in page if fields.get("u") == visitor]
        if ids:
            removed += int(client.xdel(stream, *ids))
        start = "(" + page[-1][0]


def _escape(pattern: str) -> str:
    # The hash-tag braces are literal; only the trailing * is a wildcard.
    body, star = pattern[:-1], pattern[-1]
    for ch in "[]?*\\":
        body = body.replace(ch, "\\" + ch)
    return body + star
