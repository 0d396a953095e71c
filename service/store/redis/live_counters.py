"""Today's live counters for one experiment, as the events script keeps them (event_ingest.py):
a hash of `<variant>:<type>`, `<variant>:dismiss:<reason>` and `<variant>:revenue` counts, and
one HyperLogLog of distinct visitors with an impression per variant. They are approximate and
reset at midnight UTC; the report, which reads SQL, is the figure of record."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import redis

from service.store.redis.keys import Keys


@dataclass(frozen=True, slots=True)
class LiveVariant:
    variant: str
    visitors: int = 0  # HyperLogLog estimate, ±0.8 %
    counts: dict[str, float] = field(default_factory=dict)

    def count(self, name: str) -> float:
        return self.counts.get(name, 0)


def read_live(
    client: redis.Redis, keys: Keys, experiment: str, variants: Sequence[str], day: date
) -> list[LiveVariant] | None:
    """Every variant's counters for `day` in one round trip, or None when Redis is away."""
    stamp = day.isoformat()
    pipe = client.pipeline(transaction=False)
    pipe.hgetall(keys.live_counters(experiment, stamp))
    for variant in variants:
        pipe.pfcount(keys.live_visitors(experiment, variant, stamp))
    try:
        raw, *visitors = pipe.execute()
    except redis.RedisError:
        return None
    counts: dict[str, dict[str, float]] = {v: {} for v in variants}
    for name, value in raw.items():
        name = name.decode() if isinstance(name, bytes) else str(name)
        variant, _, metric = name.partition(":")
        if variant in counts:
            counts[variant][metric] = float(value)
    return [
        LiveVariant(variant, int(seen), counts[variant])
        for variant, seen in zip(variants, visitors, strict=True)
    ]
