"""Prometheus metrics.

Under gunicorn every worker writes its samples to PROMETHEUS_MULTIPROC_DIR (deploy/gunicorn.conf.py
sets one up) and /metrics aggregates them with prometheus_client's multiprocess collector; a
process without it serves its own registry. The flusher and the export scheduler count into
the same directory under `smallfavor serve`, and serve their own /metrics on METRICS_PORT when
they run as separate pods. Stream length and flusher lag are read from Redis at scrape time,
so any web replica reports them without the flusher's help.

Every label value comes from a fixed set, never straight from a request: each series costs
memory in every process and bytes in every scrape, so a label a client could choose would let
it grow /metrics without bound. Route: the URL rule's template or "unmatched"; method: one of
HTTP_METHODS or "other" (method_label); status: the code the app sent (status_label); outcome,
reason, type, path and status of the pipeline counters: enums or constants of the code that
counts (an event's claimed type is mapped to a known type or "invalid" first).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.registry import Collector

# The methods the service answers; any other token a client sends is counted as "other".
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_STATUSES = frozenset(str(code) for code in range(100, 600))


def method_label(method: str) -> str:
    return method if method in HTTP_METHODS else "other"


def status_label(status: str) -> str:
    """The three-digit code of a status line the app sent ("other" if it is not one)."""
    code = status[:3]
    return code if code in _STATUSES else "other"


# Latency buckets from 1 ms (a decision) to 10 s (a large report export).
_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)

REQUEST_SECONDS = Histogram(
    "smallfavor_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and method.",
    ["route", "method"],
    buckets=_LATENCY,
)
REQUESTS = Counter(
    "smallfavor_http_requests_total",
    "HTTP requests answered, by route template, method and status code.",
    ["route", "method", "status"],
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
PAYMENT_FACTS = Counter(
    "smallfavor_payment_facts_total",
    "Payment facts received (service/usecases/apply_payment_fact.py), by kind and status "
    "(applied, duplicate, held, unattributed); status unattributed with kind payment counts "
    "payments that named no reader.",
    ["kind", "status"],
)
FLUSH_BATCH_SECONDS = Histogram(
    "smallfavor_flush_batch_duration_seconds",
    "Time to write and acknowledge one batch of stream entries in SQL.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
FLUSHED = Counter(
    "smallfavor_flushed_events_total",
    "Stream entries the flusher handled, by outcome (inserted, duplicate, malformed).",
    ["outcome"],
)
EXPORT_RUNS = Counter(
    "smallfavor_export_runs_total",
    "Export run attempts that ended, by status (succeeded, retrying, failed).",
    ["status"],
)


def _registry() -> CollectorRegistry:
    """Every process's samples from the shared multiprocess directory, or this process's."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def render(extra: Iterable[Collector] = ()) -> tuple[bytes, str]:
    """The exposition text: this process's (or every worker's) samples, then `extra`
    collectors evaluated now."""
    scrape = CollectorRegistry(auto_describe=False)
    for collector in extra:
        scrape.register(collector)
    return generate_latest(_registry()) + generate_latest(scrape), CONTENT_TYPE_LATEST


def serve_metrics(port: int) -> None:
    """For the flusher and the scheduler, which have no web server: /metrics on `port`
    (0: off)."""
    if port:
        from prometheus_client import start_http_server

        start_http_server(port, registry=_registry())
