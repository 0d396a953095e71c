"""Builds the process's Redis client: a plain client for one server (the embedded default
included), or a cluster client when REDIS_URL names a node of a Redis Cluster.

REDIS_CLUSTER=auto (the default) asks the server once, at start (`INFO cluster`); on/off skip
the question. When the server cannot be reached at start, auto assumes a single server and
says so in the log: set REDIS_CLUSTER=on for a cluster that may be down when processes start.

Timeouts are short, because the decision path must fail closed within ~100 ms when Redis is
away rather than hold a reader's page.
"""

from __future__ import annotations

import logging
from typing import Any, TypeAlias

import redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.exceptions import RedisClusterException
from redis.retry import Retry

from service.settings import Settings
from service.store.redis.embedded import embedded_socket

log = logging.getLogger(__name__)

# Every adapter takes either; commands that must reach one slot are built so on both.
RedisClient: TypeAlias = redis.Redis | RedisCluster
# What "Redis is away" looks like: the cluster client also raises errors outside RedisError
# (no node reachable to learn the slots from, a slot no node serves).
REDIS_ERRORS: tuple[type[Exception], ...] = (redis.RedisError, RedisClusterException)


def connect(settings: Settings) -> RedisClient:
    timeout = settings.redis_timeout_ms / 1000
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "decode_responses": True,
        # No retries: redis-py retries three times by default, which would turn one 50 ms
        # timeout into several and break the decision path's fail-fast promise. (A cluster
        # client follows MOVED and ASK redirects whatever this says.)
        "retry": Retry(NoBackoff(), 0),
    }
    if settings.redis_url is None:
        return redis.Redis(
            unix_socket_path=embedded_socket(settings.var_dir), health_check_interval=30, **options
        )
    if _is_cluster(settings):
        return RedisCluster.from_url(settings.redis_url, **options)
    return redis.Redis.from_url(settings.redis_url, health_check_interval=30, **options)


def _is_cluster(settings: Settings) -> bool:
    if settings.redis_cluster != "auto":
        return settings.redis_cluster == "on"
    assert settings.redis_url is not None
    if settings.redis_url.startswith("unix://"):
        return False
    probe = redis.Redis.from_url(
        settings.redis_url, socket_timeout=2, socket_connect_timeout=2, decode_responses=True
    )
    try:
        return bool(probe.info("cluster").get("cluster_enabled"))
    except REDIS_ERRORS as exc:
        log.warning(
            "could not ask Redis whether it is a cluster (%s); assuming a single server "
            "(set REDIS_CLUSTER=on or off to skip the question)",
            exc,
        )
        return False
    finally:
        probe.close()
