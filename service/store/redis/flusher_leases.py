"""Which flusher process drains which event partitions.

Each flusher heartbeats into a sorted set and holds a lease (a key with a TTL, whose value is
its name) on each partition it drains. On every refresh it renews its leases, counts the live
flushers, and moves toward its fair share, ceil(partitions / live flushers): it releases its
highest-numbered partitions when it holds more, and takes free ones when it holds fewer. A
flusher that dies stops renewing; its leases expire and the others take its partitions over.

Leases are for throughput, not for correctness: two flushers draining one partition for a
moment (a paused process whose lease ran out) write the same entries twice, and the SQL
writer's idempotence on event id makes the second write a no-op. So a new owner may claim
every entry still pending in the partition at once, whoever it was delivered to.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from service.store.redis.client import RedisClient
from service.store.redis.keys import Keys

DEFAULT_TTL_MS = 10_000

# KEYS[1] lease; ARGV: owner, ttl ms. Renew only a lease still ours.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# KEYS[1] lease; ARGV: owner. Release only a lease still ours.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# KEYS[1] partition count; ARGV: this process's count. Keeps the largest ever used.
_AT_LEAST = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1])
  return tonumber(ARGV[1])
end
return current
"""


@dataclass(frozen=True, slots=True)
class LeaseState:
    owned: frozenset[int]
    acquired: frozenset[int]  # new since the last refresh: their pending entries are ours now
    partitions: int  # how many partitions exist (the largest count any process has used)
    flushers: int  # live flushers seen

    @property
    def settled(self) -> bool:
        """Whether this flusher holds its fair share (not fewer: it waits for others to
        release theirs, and looks again soon)."""
        return len(self.owned) >= math.ceil(self.partitions / max(1, self.flushers))


def partitions_in_use(client: RedisClient, keys: Keys) -> int:
    """The largest partition count any process has used, recording this one's."""
    return int(client.eval(_AT_LEAST, 1, keys.partition_count(), keys.partitions))


class PartitionLeases:
    def __init__(
        self, client: RedisClient, keys: Keys, owner: str, ttl_ms: int = DEFAULT_TTL_MS
    ) -> None:
        self._client = client
        self._keys = keys
        self.owner = owner
        self._ttl_ms = ttl_ms
        self._owned: set[int] = set()
        # Where this flusher starts looking for free partitions: spread over owners, so two
        # flushers starting together do not race for the same ones.
        self._start = int.from_bytes(hashlib.sha1(owner.encode()).digest()[:4], "big")

    def refresh(self, now_ms: int) -> LeaseState:
        client, keys = self._client, self._keys
        total = partitions_in_use(client, keys)
        pipe = client.pipeline(transaction=False)
        pipe.zadd(keys.flushers(), {self.owner: now_ms})
        pipe.zremrangebyscore(keys.flushers(), "-inf", now_ms - self._ttl_ms)
        pipe.zcard(keys.flushers())
        _, _, live = pipe.execute()
        pipe = client.pipeline(transaction=False)
        for p in range(total):
            pipe.get(keys.flusher_lease(p))
        holders = pipe.execute()
        mine = sorted(p for p, holder in enumerate(holders) if holder == self.owner)
        share = math.ceil(total / max(1, int(live)))

        pipe = client.pipeline(transaction=False)
        keep, release = mine[:share], mine[share:]
        for p in keep:
            pipe.execute_command("EVAL", _RENEW, 1, keys.flusher_lease(p), self.owner, self._ttl_ms)
        for p in release:
            pipe.execute_command("EVAL", _RELEASE, 1, keys.flusher_lease(p), self.owner)
        renewed = pipe.execute() if keep or release else []
        owned = {p for p, ok in zip(keep, renewed, strict=False) if int(ok)}

        wanted = share - len(owned)
        free = [(self._start + i) % total for i in range(total)]
        free = [p for p in free if holders[p] is None and p not in owned]
        acquired: set[int] = set()
        if wanted > 0 and free:
            pipe = client.pipeline(transaction=False)
            tried = free[:wanted]
            for p in tried:
                pipe.set(keys.flusher_lease(p), self.owner, nx=True, px=self._ttl_ms)
            acquired = {p for p, ok in zip(tried, pipe.execute(), strict=True) if ok}
        owned |= acquired
        acquired -= self._owned  # a lease lost and won back between refreshes is new again
        self._owned = owned
        return LeaseState(frozenset(owned), frozenset(acquired), total, int(live))

    def release_all(self) -> None:
        """On a clean exit: the others take the partitions over at their next refresh."""
        pipe = self._client.pipeline(transaction=False)
        for p in sorted(self._owned):
            pipe.execute_command("EVAL", _RELEASE, 1, self._keys.flusher_lease(p), self.owner)
        pipe.zrem(self._keys.flushers(), self.owner)
        pipe.execute()
        self._owned = set()
