"""Today's live counters for one experiment, as the events script keeps them (event_ingest.py):
a hash of `<variant>:<type>`, `<variant>:dismiss:<reason>` and `<variant>:revenue` counts, and
one HyperLogLog of distinct visitors with an impression per variant, in each event partition.
A visitor's events all go to one partition, so the partitions' figures add up. They are
approximate and reset at midnight UTC; the report, which reads SQL, is the figure of record.

The readers figure is a HyperLogLog estimate, the impressions figure an exact count, and the
same script call adds to both, so the true number of readers with an impression can never
exceed the impressions. The estimate can (its error is about ±0.8 %, and a sum over partitions
adds their errors): 1,032 readers next to 1,027 impressions was one. It is capped at the
impressions, a bound known exactly."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from service.store.redis.client import REDIS_ERRORS, RedisClient
from service.store.redis.keys import Keys


@dataclass(frozen=True, slots=True)
class LiveVariant:
    variant: str
    visitors: int = 0  # HyperLogLog estimate, ±0.8 %, at most the impressions
    counts: dict[str, float] = field(default_factory=dict)

    def count(self, name: str) -> float:
        return self.counts.get(name, 0)


def read_live(
    client: RedisClient, keys: Keys, experiment: str, variants: Sequence[str], day: date
) -> list[LiveVariant] | None:
    """Every variant's counters for `day`, summed over the partitions in one pipeline (on a
    cluster, one round trip to each node), or None when Redis is away."""
    stamp = day.isoformat()
    pipe = client.pipeline(transaction=False)
    for p in range(keys.partitions):
        pipe.hgetall(keys.live_counters(p, experiment, stamp))
        for variant in variants:
            # By name: redis-py's cluster pipeline refuses pfcount(), which may take several
            # keys; this one takes one.
            pipe.execute_command("PFCOUNT", keys.live_visitors(p, experiment, variant, stamp))
    try:
        replies = pipe.execute()
    except REDIS_ERRORS:
        return None
    counts: dict[str, dict[str, float]] = {v: {} for v in variants}
    seen = dict.fromkeys(variants, 0)
    step = 1 + len(variants)
    for p in range(keys.partitions):
        raw, visitors = replies[p * step], replies[p * step + 1 : (p + 1) * step]
        for name, value in raw.items():
            name = name.decode() if isinstance(name, bytes) else str(name)
            variant, _, metric = name.partition(":")
            if variant in counts:
                counts[variant][metric] = counts[variant].get(metric, 0) + float(value)
        for variant, count in zip(variants, visitors, strict=True):
            seen[variant] += int(count)
    return [
        LiveVariant(
            variant, min(seen[variant], int(counts[variant].get("impression", 0))), counts[variant]
        )
        for variant in variants
    ]
