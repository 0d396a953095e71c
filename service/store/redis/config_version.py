"""The config version that tells every process's experiment cache to reload.

Caches compare versions for equality, so a value must never come back: a counter that
restarted at 1 after a Redis flush would look like a version a cache has already loaded.
A bump therefore moves to the larger of (current + 1) and the current time in microseconds,
which keeps it increasing across flushes and restarts. (Microseconds stay below 2**53, so
Lua's doubles hold them exactly.)
"""

from __future__ import annotations

import time

from service.store.redis.client import RedisClient
from service.store.redis.keys import Keys

_BUMP = """
local next = math.max(tonumber(redis.call('GET', KEYS[1]) or '0') + 1, tonumber(ARGV[1]))
redis.call('SET', KEYS[1], string.format('%d', next))
return next
"""


def bump(client: RedisClient, keys: Keys) -> int:
    now_us = time.time_ns() // 1000
    return int(client.eval(_BUMP, 1, keys.config_version(), now_us))


def current(client: RedisClient, keys: Keys) -> int:
    value = client.get(keys.config_version())
    return int(value) if value is not None else 0
