"""The visitor ledger in Redis: one hash per visitor, read and written in one round trip.

Each access also renews the key's TTL, so the ledger lives as long as the reader keeps coming
back (a sliding expiry) and disappears on its own after they stop.
"""

from __future__ import annotations

import redis

from service.domain.ledger import assignment_field
from service.store.redis.keys import Keys


class LedgerStore:
    def __init__(self, client: redis.Redis, keys: Keys, ttl_seconds: int) -> None:
        self._client = client
        self._keys = keys
        self._ttl = ttl_seconds

    def read(self, visitor: str, speculative: tuple[str, str] | None = None) -> dict[str, str]:
        """The ledger's fields; with `speculative`, also store that assignment unless one is
        there already (HSETNX), in the same pipelined round trip."""
        key = self._keys.ledger(visitor)
        pipe = self._client.pipeline(transaction=False)
        pipe.hgetall(key)
        if speculative is not None:
            pipe.hsetnx(key, assignment_field(speculative[0]), speculative[1])
        pipe.expire(key, self._ttl)
        fields: dict[str, str] = pipe.execute()[0]
        return fields

    def store_assignment(self, visitor: str, experiment: str, assignment: str) -> None:
        key = self._keys.ledger(visitor)
        pipe = self._client.pipeline(transaction=False)
        pipe.hsetnx(key, assignment_field(experiment), assignment)
        pipe.expire(key, self._ttl)
        pipe.execute()
