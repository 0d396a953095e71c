"""The visitor ledger in Redis: one hash per visitor, read and written in one round trip.

Each access also renews the key's TTL, so the ledger lives as long as the reader keeps coming
back (a sliding expiry) and disappears on its own after they stop.

The read is one Lua script called by SHA rather than a pipeline of three commands: the same
single round trip at about two thirds of the client-side CPU. It is sent on a pooled
connection directly (one_round_trip.py), skipping redis-py's per-command wrapper, because this
is the one call every page view makes and the client's CPU is most of its cost. The script
touches one key, the visitor's, so on a Redis Cluster it goes to that visitor's node.
"""

from __future__ import annotations

from service.domain.ledger import assignment_field
from service.store.redis import one_round_trip
from service.store.redis.client import RedisClient
from service.store.redis.keys import Keys
from service.store.redis.one_round_trip import Command, sha1

RATE_WINDOW_SECONDS = 60


class LedgerStore:
    def __init__(self, client: RedisClient, keys: Keys, ttl_seconds: int) -> None:
        self._client = client
        self._keys = keys
        self._ttl = ttl_seconds
        self._read_sha = sha1(_READ)  # what EVALSHA expects; no round trip to register
        self._scripts = {self._read_sha: _READ}

    def read(self, visitor: str, speculative: tuple[str, str] | None = None) -> dict[str, str]:
        """The ledger's fields; with `speculative`, also store that assignment unless one is
        there already (HSETNX), in the same round trip."""
        return self.read_counting(visitor, speculative, None)[0]

    def read_counting(
        self, visitor: str, speculative: tuple[str, str] | None, rate_key: str | None
    ) -> tuple[dict[str, str], int]:
        """As read(); with `rate_key`, also count this request in that per-client window key
        (SET NX EX creates it with its TTL, INCR counts), sent in the same round trip (on a
        cluster, to the key's own node in parallel), so rate limiting costs no extra wait.
        Returns the fields and the count (0 without)."""
        name, value = (
            (assignment_field(speculative[0]), speculative[1]) if speculative else ("", "")
        )
        key = self._keys.ledger(visitor)
        former = self._keys.former_ledger(visitor)
        commands: list[tuple[str, Command]] = [
            (key, ("EVALSHA", self._read_sha, 2, key, former, self._ttl, name, value))
        ]
        if rate_key is not None:
            commands += [
                (rate_key, ("SET", rate_key, 0, "EX", RATE_WINDOW_SECONDS, "NX")),
                (rate_key, ("INCR", rate_key)),
            ]
        replies = one_round_trip.send(self._client, commands, self._scripts)
        flat = replies[0]
        count = int(replies[2]) if rate_key is not None else 0
        return dict(zip(flat[::2], flat[1::2], strict=True)), count

    def peek(self, visitor: str) -> dict[str, str]:
        """The ledger's fields, leaving it as it is (no TTL renewal, no rename of a former
        key): looking a reader up from the dashboard must not keep their ledger alive."""
        fields: dict[str, str] = self._client.hgetall(self._keys.ledger(visitor))  # type: ignore[assignment]
        if not fields:
            fields = self._client.hgetall(self._keys.former_ledger(visitor))  # type: ignore[assignment]
        return fields

    def store_assignment(self, visitor: str, experiment: str, assignment: str) -> None:
        key = self._keys.ledger(visitor)
        pipe = self._client.pipeline(transaction=False)
        pipe.hsetnx(key, assignment_field(experiment), assignment)
        pipe.expire(key, self._ttl)
        pipe.execute()


# KEYS[1] ledger, KEYS[2] where it was kept before (renamed into place when found: same slot);
# ARGV: ttl seconds, assignment field ("" for none), assignment value.
_READ = """
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 and redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('RENAME', KEYS[2], KEYS[1])
  fields = redis.call('HGETALL', KEYS[1])
end
if ARGV[2] ~= '' then redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[3]) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return fields
"""
