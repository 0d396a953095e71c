"""The config version counter that tells every process's experiment cache to reload."""

from __future__ import annotations

import redis

from service.store.redis.keys import Keys


def bump(client: redis.Redis, keys: Keys) -> int:
    return int(client.incr(keys.config_version()))


def current(client: redis.Redis, keys: Keys) -> int:
    value = client.get(keys.config_version())
    return int(value) if value is not None else 0
