"""The physical ceiling of a decision: a bare WSGI app (no Flask) doing one Redis round trip.

    gunicorn -c deploy/gunicorn.conf.py bench.ceiling_app:app

Any path answers. Per request it takes the visitor from the query string (`visitor=`, as
bench/decision/random_visitor.lua sends it), sends HGETALL, HSETNX and EXPIRE of that
visitor's ledger key (`<REDIS_PREFIX>:{v:<visitor>}:ledger`, the service's) in one pipeline,
and answers a small JSON body. The Redis client is built once per process, on its first
request (after gunicorn forks), from REDIS_URL as the service builds its own: a cluster client
when the server says cluster_enabled, decode_responses, REDIS_TIMEOUT_MS timeouts (default 50
ms) and no retries. What the decision endpoint does beyond this (parsing and validating,
targeting, allocation, rendering, tokens, metrics) is what bench/decision's ratio
decision / ceiling prices.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

import redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

PREFIX = os.environ.get("REDIS_PREFIX", "sf")
TTL_SECONDS = 30 * 86_400
ASSIGNMENT_FIELD = "a:ceiling"
HEADERS = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]

_client: redis.Redis | RedisCluster | None = None
_lock = threading.Lock()


def _connect() -> redis.Redis | RedisCluster:
    url = os.environ["REDIS_URL"]
    timeout = int(os.environ.get("REDIS_TIMEOUT_MS", "50")) / 1000
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "decode_responses": True,
        "retry": Retry(NoBackoff(), 0),
    }
    probe = redis.Redis.from_url(url, socket_timeout=2, decode_responses=True)
    try:
        clustered = bool(probe.info("cluster").get("cluster_enabled"))
    finally:
        probe.close()
    if clustered:
        return RedisCluster.from_url(url, **options)
    return redis.Redis.from_url(url, health_check_interval=30, **options)


def client() -> redis.Redis | RedisCluster:
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                _client = _connect()
    return _client


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    visitor = "anonymous"
    for name, value in parse_qsl(environ.get("QUERY_STRING", "")):
        if name == "visitor":
            visitor = value
            break
    key = f"{PREFIX}:{{v:{visitor}}}:ledger"
    pipe = client().pipeline(transaction=False)
    pipe.hgetall(key)
    pipe.hsetnx(key, ASSIGNMENT_FIELD, "control")
    pipe.expire(key, TTL_SECONDS)
    fields, _, _ = pipe.execute()
    body = json.dumps({"banner": None, "reason": "ceiling", "fields": len(fields)}).encode()
    start_response("200 OK", [*HEADERS, ("Content-Length", str(len(body)))])
    return [body]
