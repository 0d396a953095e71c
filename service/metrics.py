"""Prometheus metrics. Under gunicorn every worker writes to PROMETHEUS_MULTIPROC_DIR and
/metrics aggregates them (prometheus_client's multiprocess mode); without it, the process's
own registry is served."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    generate_latest,
)

DECISIONS = Counter(
    "smallfavor_decisions_total",
    "Decisions answered, by outcome: 'shown' or the reason there was no banner.",
    ["outcome"],
)
REDIS_FAILURES = Counter(
    "smallfavor_redis_failures_total",
    "Redis operations that failed, by the path that needed them.",
    ["path"],
)

EVENTS = Counter(
    "smallfavor_events_total",
    "Events received, by type and outcome (accepted, duplicate, rejected, qa, bot).",
    ["type", "outcome"],
)


def render() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
