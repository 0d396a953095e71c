"""Builds the process's Redis client: short timeouts, because the decision path must fail
closed within ~100 ms when Redis is away rather than hold a reader's page."""

from __future__ import annotations

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from service.settings import Settings
from service.store.redis.embedded import embedded_socket


def connect(settings: Settings) -> redis.Redis:
    timeout = settings.redis_timeout_ms / 1000
    options: dict[str, object] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "health_check_interval": 30,
        # No retries: redis-py 6 retries three times by default, which would turn one 50 ms
        # timeout into several and break the decision path's fail-fast promise.
        "retry": Retry(NoBackoff(), 0),
        "decode_responses": True,
    }
    if settings.redis_url is None:
        return redis.Redis(unix_socket_path=embedded_socket(settings.var_dir), **options)  # type: ignore[arg-type]
    return redis.Redis.from_url(settings.redis_url, **options)
