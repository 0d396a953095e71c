"""Stream length, pending entries and flusher lag for /metrics, read from Redis at scrape time.

Lag is the age of the oldest entry not yet written to SQL: the older of the oldest pending
entry (delivered to a flusher, not acknowledged) and the first entry after the group's last
delivered id (not delivered at all). Entry ids start with their XADD time in milliseconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from service.store.redis.client import REDIS_ERRORS, RedisClient
from service.store.redis.event_stream import GROUP
from service.store.redis.keys import Keys

log = logging.getLogger(__name__)


def _ms(entry_id: str) -> int:
    return int(entry_id.split("-", 1)[0])


class StreamCollector(Collector):
    def __init__(self, client: RedisClient, keys: Keys) -> None:
        self._redis = client
        self._keys = keys

    def collect(self) -> Iterator[Metric]:
        # Every partition, and the stream of installs from before partitioning; three
        # pipelined waves (on a cluster, each one round trip per node).
        streams = self._keys.all_event_streams()
        try:
            pipe = self._redis.pipeline(transaction=False)
            for stream in streams:
                pipe.xlen(stream)
            lengths = dict(zip(streams, map(int, pipe.execute()), strict=True))
            busy = [stream for stream in streams if lengths[stream]]
            pipe = self._redis.pipeline(transaction=False)
            for stream in busy:
                pipe.xinfo_groups(stream)
            groups = {
                stream: next((g for g in found if g["name"] == GROUP), None)
                for stream, found in zip(busy, pipe.execute(), strict=True)
            }
            pipe = self._redis.pipeline(transaction=False)
            asked: list[tuple[str, str]] = []
            for stream in busy:
                group = groups[stream]
                if group and int(group["pending"]):
                    pipe.xpending(stream, GROUP)
                    asked.append(("pending", stream))
                after = group["last-delivered-id"] if group else "0-0"
                pipe.xrange(stream, min=f"({after}", count=1)
                asked.append(("waiting", stream))
            oldest: list[int] = []
            for (kind, _), reply in zip(asked, pipe.execute() if asked else [], strict=True):
                if kind == "pending" and reply.get("min"):
                    oldest.append(_ms(reply["min"]))
                elif kind == "waiting" and reply:
                    oldest.append(_ms(str(reply[0][0])))
        except REDIS_ERRORS as exc:
            log.warning("stream metrics unavailable: %s", exc)
            return
        length = sum(lengths.values())
        pending = sum(int(g["pending"]) for g in groups.values() if g)
        lag = max(0.0, time.time() - min(oldest) / 1000) if oldest else 0.0
        yield GaugeMetricFamily(
            "smallfavor_stream_length",
            "Entries in the event streams, all partitions (trimmed once written).",
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
