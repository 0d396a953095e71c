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


def _escape(pattern: str) -> str:
    # The hash-tag braces are literal; only the trailing * is a wildcard.
    body, star = pattern[:-1], pattern[-1]
    for ch in "[]?*\\":
        body = body.replace(ch, "\\" + ch)
    return body + star
