"""Known bots, from the maintained crawler-user-agents pattern list (PyPI)."""

from __future__ import annotations

from functools import lru_cache

import crawleruseragents  # type: ignore[import-untyped]


@lru_cache(maxsize=4096)
def is_bot(user_agent: str) -> bool:
    # Matching runs hundreds of patterns (~0.1 ms); real traffic repeats a few thousand UAs.
    return bool(user_agent) and bool(crawleruseragents.is_crawler(user_agent))
