"""Recording accepted events in Redis: one round trip per request.

Two scripts travel together (one_round_trip.py; their Lua is in event_ingest_scripts.py):

- the events script, on an event partition's slot (a visitor's events all go to one
  partition): per event, a dedupe mark; only if the mark is new, XADD to the partition's
  stream, live counters and the unique-visitor HyperLogLog. Deduplication and the append happen
  in one script, so an event id can never be appended twice, and a crash between them cannot
  happen. It also counts the client's requests for rate limiting and refuses the whole batch,
  touching nothing, when over.
- the ledger: caps, snoozes and last-impression marks, an event's updates to its visitor's
  hash, are written only if that event is new. A duplicate writes nothing anywhere, so that no
  reused event id (a retry, or a client reusing ids on purpose under another decision token)
  can leave in Redis an exposure, a cap or a snooze that SQL, which counts each event id once,
  never sees: the payment webhook credits from the ledger, and a credit for an exposure SQL
  lacks is a donation the live counters show and the report does not. On a single server the
  events script writes them itself (its keys need share no slot); on a cluster the ledger is
  on the visitor's slot, not the partition's, so the ledger script follows in a second round
  trip once the events script has said which events were new (measured in
  docs/PERFORMANCE.md). Updates not tied to an event (the webhook's supporter mark) go by the
  ledger script in the first round trip.

On a single server every event of the request goes into one events script call, whatever its
partition, with the rate-limit key among its keys (one server has no slots to respect). On a
cluster each partition's events go in a call on that partition's slot, and the rate-limit
count, whose key has a slot of its own, is asked first, in a round trip of its own, so that a
refused batch still touches nothing (the ledger included: on a single server it is written
by the events script, which refuses the batch before writing anything).

Dedupe marks, and why they are small. An event can be accepted only while its decision token
is younger than TOKEN_MAX_AGE_HOURS (plus a minute of clock skew): that is the window in which
a retry can arrive, so a mark needs to live only that long, not a week. Marks are kept in
generations of a quarter of that window; an event is a duplicate if its mark is in the current
generation or one of the four before it, and a generation's keys expire once the last event
they guard could no longer be accepted (so a mark lives the window plus at most a quarter).
A mark is 9 bytes of a 12-byte BLAKE2b digest of the event id, stored as an empty-valued field
of a small hash; the other 3 bytes pick the hash (the bucket) among the generation's n. Small
hashes are stored by Redis as one compact list (ziplist/listpack, up to 128 fields by
default), about 14 bytes a mark instead of ~100 for a key of its own. n is fixed when a
generation begins: at least 256, and more when the previous generation's marks would average
over 48 a bucket, so buckets stay compact at any traffic (the first generation of a busy
install aside: past 128 marks a bucket Redis switches it to a plain hash table, ~70 bytes a
mark, for a few hours). Buckets are made on first use, so a quiet install pays for few.
When this round trip fails (Redis down, or a reply later than REDIS_TIMEOUT_MS, in which case
the scripts may or may not have run), the endpoint stores the events straight in SQL and
answers them "pending", not "accepted": no mark was set, so only the answers to later copies,
made here, say whether one was new (see store/sql/event_writer.py).
The 96-bit digest makes a false duplicate a ~2^-70 event. A retry with a different token
after the window is not caught here; SQL, which keeps every event id for good, still refuses
to count it twice.

Whose marks. SQL's event id is unique whoever sent it, so the marks should be too: on a single
server every partition's marks are under one stem (Keys.dedupe_single_server_base), and an id
reused under another reader's token is a duplicate wherever that reader's events go. A
partition's own stem, where its marks were kept before, is still read for generations that
began before the switch (a generation's hash says `w` once the one stem was in use before it
began), so no retry in flight at an upgrade is taken twice. On a cluster the marks must stay
in their partition's slot: an id reused under the token of a reader of another partition is
accepted there, counted live, and refused by SQL (the live counters are approximate).
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from redis.cluster import RedisCluster

from service.domain.events import EventRecord, EventType
from service.domain.ledger import LedgerOp
from service.store.redis import one_round_trip
from service.store.redis.client import REDIS_ERRORS, RedisClient
from service.store.redis.event_ingest_scripts import EVENTS_SCRIPT, LEDGER_SCRIPT
from service.store.redis.keys import Keys
from service.store.redis.one_round_trip import Command, sha1

log = logging.getLogger(__name__)

LIVE_TTL_SECONDS = 3 * 86_400
_SEPARATOR = "\x1f"  # ASCII unit separator
RATE_WINDOW_SECONDS = 60
GENERATIONS_PER_WINDOW = 4


@dataclass(frozen=True, slots=True)
class OverLimit:
    """The client is over its rate limit: the batch was refused, touching nothing."""

    retry_after: int


@dataclass(frozen=True, slots=True)
class Recorded:
    new: tuple[bool, ...]  # per record: True if first seen, False if a duplicate


class EventIngest:
    def __init__(
        self,
        client: RedisClient,
        keys: Keys,
        *,
        dedupe_window: int,
        ledger_ttl: int,
        rate_limit_per_minute: int,
    ) -> None:
        """dedupe_window: seconds during which an accepted event could still be sent again
        and accepted (the decision token's maximum age plus skew)."""
        self._client = client
        self._keys = keys
        self._window = dedupe_window
        self._generation = max(1, math.ceil(dedupe_window / GENERATIONS_PER_WINDOW))
        self._ledger_ttl = ledger_ttl
        self._rate_limit = rate_limit_per_minute
        self._cluster = isinstance(client, RedisCluster)
        self._scripts = {sha1(EVENTS_SCRIPT): EVENTS_SCRIPT, sha1(LEDGER_SCRIPT): LEDGER_SCRIPT}

    def record(
        self,
        records: Sequence[EventRecord],
        ledger_ops: dict[str, list[LedgerOp]],
        client_ip: str,
        now: datetime,
        *,
        rate_limited: bool = True,
        record_ops: Sequence[Sequence[LedgerOp]] = (),
    ) -> Recorded | OverLimit:
        """ledger_ops: updates to apply whatever becomes of the records (per visitor);
        record_ops: per record, in order, the updates to apply only if that record is new."""
        ops_of = list(record_ops) or [()] * len(records)
        limit = self._rate_limit if rate_limited else 0
        rate_key = self._keys.rate_limit(client_ip) if limit else None
        day = now.strftime("%Y-%m-%d")
        now_s = int(now.timestamp())

        commands: list[tuple[str, Command]] = []
        if self._cluster:
            if rate_key is not None:
                count = self._events_command([], [], rate_key, limit, 0)
                (reply,) = self._send([(rate_key, count)])
                if int(reply[0]) < 0:
                    return OverLimit(max(1, int(reply[1])))
            by_partition: dict[int, list[int]] = {}
            for i, record in enumerate(records):
                by_partition.setdefault(self._keys.partition_of(record.visitor), []).append(i)
            groups = list(by_partition.values())
            for indexes in groups:
                batch = [records[i] for i in indexes]
                command = self._events_command(batch, [()] * len(batch), None, 0, now_s, day)
                commands.append((str(command[3]), command))
        else:
            groups = [list(range(len(records)))] if records or rate_key else []
            if groups:
                command = self._events_command(records, ops_of, rate_key, limit, now_s, day)
                commands.append((str(command[3]), command))
        commands += self._ledger_commands(ledger_ops.items())
        if not commands:
            return Recorded(())

        replies = self._send(commands)
        new = [False] * len(records)
        for indexes, reply in zip(groups, replies, strict=False):
            if int(reply[0]) < 0:
                return OverLimit(max(1, int(reply[1])))
            for i, flag in zip(indexes, reply[1:], strict=True):
                new[i] = bool(int(flag))
        if self._cluster:
            # The second round trip: the new events' ledger updates, now that they are known.
            by_visitor: dict[str, list[LedgerOp]] = {}
            for record, ops, is_new in zip(records, ops_of, new, strict=True):
                if is_new and ops:
                    by_visitor.setdefault(record.visitor, []).extend(ops)
            if by_visitor:
                try:
                    self._send(self._ledger_commands(by_visitor.items()))
                except REDIS_ERRORS as exc:
                    # The events are accepted and counted; to answer otherwise would have
                    # them stored again through SQL. Only their caps and snoozes are lost.
                    log.warning("ledger updates of accepted events lost: %s", exc)
        return Recorded(tuple(new))

    def _ledger_commands(
        self, ops_by_visitor: Iterable[tuple[str, Sequence[LedgerOp]]]
    ) -> list[tuple[str, Command]]:
        commands: list[tuple[str, Command]] = []
        for visitor, ops in ops_by_visitor:
            if ops:
                key = self._keys.ledger(visitor)
                former = self._keys.former_ledger(visitor)
                args = [str(self._ledger_ttl)] + [part for op in ops for part in op]
                commands.append((key, ("EVALSHA", sha1(LEDGER_SCRIPT), "2", key, former, *args)))
        return commands

    def _send(self, commands: list[tuple[str, Command]]) -> list[list[int]]:
        return one_round_trip.send(self._client, commands, self._scripts)

    def _events_command(
        self,
        records: Sequence[EventRecord],
        record_ops: Sequence[Sequence[LedgerOp]],
        rate_key: str | None,
        limit: int,
        now_s: int,
        day: str = "",
    ) -> Command:
        """record_ops: per record, the ledger updates the script applies if it is new (only
        on a single server: on a cluster the visitor's ledger is in another slot)."""
        generation = now_s // self._generation
        # Until the last event this generation's marks guard can no longer be accepted.
        generation_ttl = (generation + 1) * self._generation + self._window - now_s + 60
        keys: list[str] = []
        args: list[str | bytes] = [
            str(LIVE_TTL_SECONDS),
            str(limit),
            str(RATE_WINDOW_SECONDS),
            str(generation),
            str(GENERATIONS_PER_WINDOW),
            str(generation_ttl),
            str(len(records)),
            str(self._ledger_ttl),
            "" if self._cluster else self._keys.dedupe_single_server_base(),
        ]
        for record, ops in zip(records, record_ops, strict=True):
            partition = self._keys.partition_of(record.visitor)
            keys += [
                self._keys.events_stream(partition),
                self._keys.live_counters(partition, record.experiment, day),
                self._keys.live_visitors(partition, record.experiment, record.variant, day),
            ]
            if ops:
                assert not self._cluster, "a cluster's ledger is written in a round trip after"
                visitor = record.visitor
                keys += [self._keys.ledger(visitor), self._keys.former_ledger(visitor)]
            # The stream fields travel as one string the script splits: packing ~20 separate
            # arguments per event was a fifth of the request's CPU. Every value is validated
            # to a character set without the separator.
            packed = _SEPARATOR.join(part for pair in record.to_fields().items() for part in pair)
            args += [
                self._keys.dedupe_base(partition),
                hashlib.blake2b(record.event_id.encode(), digest_size=12).digest(),
                "1" if record.counted else "0",
                "1" if record.type == EventType.impression else "0",
                record.visitor,
                f"{record.variant}:{record.type.value}",
                f"{record.variant}:dismiss:{record.reason}" if record.reason else "",
                f"{record.variant}:revenue",
                repr(record.revenue) if record.revenue else "",
                packed,
                str(len(keys)) if ops else "",
                _SEPARATOR.join(part for op in ops for part in op),
            ]
        # KEYS[1] is the rate key, or without a check any key of the events' slot.
        first = rate_key or (keys[0] if keys else self._keys.rate_limit("-"))
        return ("EVALSHA", sha1(EVENTS_SCRIPT), str(len(keys) + 1), first, *keys, *args)
