"""Stream length, pending entries and flusher lag for /metrics, read from Redis at scrape time.

Lag is the age of the oldest entry not yet written to SQL: the older of the oldest pending
entry (delivered to a flusher, not acknowledged) and the first entry after the group's last
delivered id (not delivered at all). Entry ids start with their XADD time in milliseconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import redis
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from service.store.redis.event_stream import GROUP
from service.store.redis.keys import Keys

log = logging.getLogger(__name__)


def _ms(entry_id: str) -> int:
    return int(entry_id.split("-", 1)[0])


class StreamCollector(Collector):
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._redis = client
        self._keys = keys

    def collect(self) -> Iterator[Metric]:
        stream = self._keys.events_stream()
        try:
            length = int(self._redis.xlen(stream))
            groups = self._redis.xinfo_groups(stream) if length else []
            group = next((g for g in groups if g["name"] == GROUP), None)
            pending = int(group["pending"]) if group else 0
            oldest: list[int] = []
            if pending:
                summary = self._redis.xpending(stream, GROUP)
                if summary.get("min"):
                    oldest.append(_ms(summary["min"]))
            after = group["last-delivered-id"] if group else "0-0"
            waiting = self._redis.xrange(stream, min=f"({after}", count=1) if length else []
            if waiting:
                oldest.append(_ms(str(waiting[0][0])))
        except redis.RedisError as exc:
            log.warning("stream metrics unavailable: %s", exc)
            return
        lag = max(0.0, time.time() - min(oldest) / 1000) if oldest else 0.0
        yield GaugeMetricFamily(
            "smallfavor_stream_length",
            "Entries in the event stream (trimmed once written).",
            length,
        )
        yield GaugeMetricFamily(
            "smallfavor_stream_pending",
            "Entries delivered to a flusher and not yet acknowledged.",
            pending,
        )
        yield GaugeMetricFamily(
            "smallfavor_flusher_lag_seconds",
            "Age of the oldest accepted event not yet written to SQL (0: none waiting).",
            lag,
        )
