"""Every Redis key the service uses is built here, and nowhere else.

Conventions (they are what makes the keys safe on Redis Cluster):
- All keys start with the configured prefix, so several installs can share one Redis.
- Per-visitor keys put the visitor inside a hash tag (`{v:<id>}`) so that everything about one
  visitor lands in one Redis Cluster slot and can be touched by one pipeline or script.
- The event pipeline is cut into P partitions. Each has a hash tag of its own (`{e<p>.<n>}`),
  under which live its stream, its dead-letter stream, its dedupe marks and its live counters:
  whatever the events script touches atomically is in that one slot. The tags are chosen so
  that partition p's slot falls in the p-th of P equal ranges of the 16384 slots, so the
  partitions spread evenly over however many shards the cluster has (whose slot ranges are
  contiguous, as `redis-cli --cluster create` and resharding leave them).
- Rate-limit windows carry a hash tag of their own per client, so that they spread over the
  shards too; nothing reads several of them in one command.
- Every key carries a TTL or is trimmed, with three small exceptions: the config version
  (one number every process's cache watches), the partition count (one number), and the
  legacy single stream of installs from before partitioning (drained, never written).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from functools import lru_cache

from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot


@dataclass(frozen=True, slots=True)
class Keys:
    prefix: str
    partitions: int = 16
    _tags: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_tags", partition_tags(self.partitions))

    # -- experiments ------------------------------------------------------------------------

    def config_version(self) -> str:
        """INCR'd on every experiment change; decision caches reload when it moves."""
        return f"{self.prefix}:config:version"

    # -- one visitor's slot -------------------------------------------------------------------

    def ledger(self, visitor: str) -> str:
        """Hash of everything the service remembers about one visitor (sliding TTL). The key
        is the hash tag alone: every byte of a key is paid once per reader."""
        return f"{self.prefix}:{{v:{visitor}}}"

    def former_ledger(self, visitor: str) -> str:
        """Where the ledger was kept before: the scripts that read or write a ledger rename
        this one into place the first time they meet it, so no reader is forgotten."""
        return f"{self.prefix}:{{v:{visitor}}}:ledger"

    def visitor_keys(self, visitor: str) -> list[str]:
        """Every key of one visitor, for erasure (named, so erasure never scans the keyspace)."""
        return [self.ledger(visitor), self.former_ledger(visitor)]

    # -- the partitioned event pipeline -------------------------------------------------------

    def partition_of(self, visitor: str) -> int:
        """The partition a visitor's events go to: stable for a given partition count."""
        return zlib.crc32(visitor.encode()) % self.partitions

    def events_stream(self, partition: int | None = None) -> str:
        """Accepted events (and sampled decisions, k=decision) of one partition, waiting for
        the flusher; trimmed by the flusher once written. None names the single stream of
        installs from before partitioning, which flushers still drain but nothing writes."""
        return f"{self.prefix}:{self._tag(partition)}:stream"

    def events_dead_letter(self, partition: int | None = None) -> str:
        """Stream entries the flusher could not parse or store, kept for a person to inspect
        (capped with MAXLEN by the flusher)."""
        return f"{self.prefix}:{self._tag(partition)}:dead-letter"

    def all_event_streams(self) -> list[str]:
        """Every partition's stream, and the stream of installs from before partitioning."""
        return [self.events_stream(p) for p in range(self.partitions)] + [self.events_stream()]

    def _tag(self, partition: int | None) -> str:
        return "{events}" if partition is None else self._tags[partition]

    def dedupe_base(self, partition: int) -> str:
        """Name stem of a partition's dedupe marks, completed by the events script:
        `<stem><generation>` is a generation's hash {n: bucket count, c: marks}, and
        `<stem><generation>:<bucket>` a bucket of marks (event_ingest.py says why)."""
        return f"{self.prefix}:{self._tags[partition]}:d:"

    def dedupe_single_server_base(self) -> str:
        """Name stem of the dedupe marks of every partition on a single server (which has no
        slots to respect), completed as dedupe_base's: an event id is then one event whichever
        reader's token it comes with, as SQL's unique event id has it."""
        return f"{self.prefix}:dedupe:"

    def live_counters(self, partition: int, experiment: str, day: str) -> str:
        """Hash of today's counts per variant and event type in one partition (TTL: a few
        days); the live figure is the sum over partitions."""
        return f"{self.prefix}:{self._tags[partition]}:live:{experiment}:{day}"

    def live_visitors(self, partition: int, experiment: str, variant: str, day: str) -> str:
        """HyperLogLog of the day's distinct visitors with an impression in one partition (TTL:
        a few days). A visitor belongs to one partition, so the partitions' counts add up."""
        return f"{self.prefix}:{self._tags[partition]}:hll:{experiment}:{variant}:{day}"

    def partition_count(self) -> str:
        """The largest partition count any process has used, so that flushers still drain
        partitions that a smaller EVENT_PARTITIONS no longer writes to."""
        return f"{self.prefix}:events:partitions"

    def flushers(self) -> str:
        """Sorted set of live flusher processes, scored by their last heartbeat (ms)."""
        return f"{self.prefix}:flushers"

    def flusher_lease(self, partition: int) -> str:
        """Which flusher owns a partition, with a TTL it renews while alive."""
        return f"{self.prefix}:flushers:lease:{partition}"

    # -- per client -----------------------------------------------------------------------------

    def rate_limit(self, client_ip: str) -> str:
        """Requests of one client IP in the current window (TTL: the window)."""
        return f"{self.prefix}:{{r:{client_ip}}}:rate"

    def reminder_signups_by_client(self, client_ip: str) -> str:
        """E-mail reminder sign-ups from one client address in the current window (TTL: the
        window); in that client's own hash tag, as its event rate key."""
        return f"{self.prefix}:{{r:{client_ip}}}:reminders"

    def reminder_signups_by_email(self, email_hash: str) -> str:
        """E-mail reminder sign-ups for one address, named by its keyed hash, never the
        address itself (TTL: the window)."""
        return f"{self.prefix}:reminders:email:{email_hash}"

    def login_attempts(self, scope: str) -> str:
        """Failed dashboard logins for one client address or one e-mail digest in the current
        window (TTL: the window)."""
        return f"{self.prefix}:login:{scope}"


@lru_cache(maxsize=16)
def partition_tags(count: int) -> tuple[str, ...]:
    """A hash tag per partition whose slot lies in that partition's share of the slot space.

    Found by trying suffixes in order, so every process computes the same tags: the p-th tag
    is the first `{e<p>.<n>}` whose CRC16 slot falls in [p, p + 1) * 16384 / count (about
    `count` tries each).
    """
    tags = []
    for p in range(count):
        low = p * REDIS_CLUSTER_HASH_SLOTS // count
        high = (p + 1) * REDIS_CLUSTER_HASH_SLOTS // count
        n = 0
        while not low <= key_slot(f"{{e{p}.{n}}}".encode()) < high:
            n += 1
        tags.append(f"{{e{p}.{n}}}")
    return tuple(tags)
