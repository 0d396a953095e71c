"""Erasing a visitor on request (a data subject's right): the hot state in Redis, the
entries still waiting in the event streams, and the SQL rows."""

from __future__ import annotations

import re

from service.domain.errors import InvalidRequest
from service.store.redis.visitors import erase_stream_entries
from service.store.redis.visitors import erase_visitor as erase_hot_state
from service.store.sql.visitors_repo import erase_visitor as erase_rows
from service.wiring import Services

VISITOR_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")


def erase_visitor(svc: Services, visitor: str) -> dict[str, int]:
    """What was removed, by kind; raises InvalidRequest for a malformed visitor id."""
    if not VISITOR_ID.fullmatch(visitor):
        raise InvalidRequest(
            "malformed visitor id", {"visitor": "8-64 characters of A-Z, a-z, 0-9, _ or -"}
        )
    removed: dict[str, int] = {
        "redis_keys": erase_hot_state(svc.redis, svc.keys, visitor),
        "stream_entries": erase_stream_entries(svc.redis, svc.keys, visitor),
    }
    removed.update(erase_rows(svc.engine, visitor))
    return removed
