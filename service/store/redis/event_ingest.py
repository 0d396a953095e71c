"""Recording accepted events in Redis: one round trip per request.

Two scripts travel together (one_round_trip.py):

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
        self._scripts = {sha1(_EVENTS): _EVENTS, sha1(_LEDGER): _LEDGER}

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
                commands.append((key, ("EVALSHA", sha1(_LEDGER), "2", key, former, *args)))
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
        return ("EVALSHA", sha1(_EVENTS), str(len(keys) + 1), first, *keys, *args)


# The ledger's updates, shared by both scripts: apply_ledger(key, former key, ttl, ops), ops a
# list of:
#   'max', field, value                      keep the larger number
#   'imp', field, entry, window start, keep  add "<ts>/<id>" to a set, drop entries outside
#                                            the window, keep the newest `keep`; <ts> is
#                                            base 36 seconds, or decimal with a '.' (older)
# A ledger still under its former key is renamed into place first.
_APPLY_LEDGER = """
local function seconds(e)
  local s = string.match(e, '^[^/]+')
  if not s then return nil end
  if string.find(s, '.', 1, true) then return tonumber(s) end
  return tonumber(s, 36)
end
local function apply_ledger(key, former, ttl, ops)
  if redis.call('EXISTS', key) == 0 and redis.call('EXISTS', former) == 1 then
    redis.call('RENAME', former, key)
  end
  local a = 1
  while a <= #ops do
    local op, field = ops[a], ops[a + 1]
    if op == 'max' then
      local current = tonumber(redis.call('HGET', key, field) or '-1')
      if tonumber(ops[a + 2]) > current then redis.call('HSET', key, field, ops[a + 2]) end
      a = a + 3
    else
      local entry, start, keep = ops[a + 2], tonumber(ops[a + 3]), tonumber(ops[a + 4])
      local entries, seen = {}, {}
      for e in string.gmatch((redis.call('HGET', key, field) or '') .. ' ' .. entry, '%S+') do
        local t = seconds(e)
        if not seen[e] and t and t > start then
          seen[e] = true
          entries[#entries + 1] = {t, e}
        end
      end
      table.sort(entries, function(x, y) return x[1] < y[1] or (x[1] == y[1] and x[2] < y[2]) end)
      local kept = {}
      for i = math.max(1, #entries - keep + 1), #entries do kept[#kept + 1] = entries[i][2] end
      redis.call('HSET', key, field, table.concat(kept, ' '))
      a = a + 5
    end
  end
  redis.call('EXPIRE', key, ttl)
end
"""

# KEYS: rate key (or, with no limit, a key of the events' slot), then per event (stream, live,
#   hll) and, if the event has ledger updates, (ledger, former ledger).
# ARGV: live ttl, rate limit (0 = off), rate window, generation, generations back, generation
#   ttl, n, ledger ttl, the one dedupe stem of a single server ("" on a cluster), then per
#   event: dedupe stem, digest, counted, is_impression, visitor,
#   type field, dismiss field | "", revenue field, revenue | "", the XADD field/value pairs
#   joined by \x1f, the index in KEYS of its ledger | "", its ledger ops joined by \x1f.
# Returns {0, new_1, ..., new_n}, or {-1, seconds until the rate window resets}.
# The dedupe hashes are named from the stem, which carries the partition's hash tag: they are
# in the slot of that event's stream, as a cluster requires.
_EVENTS = (
    _APPLY_LEDGER
    + """
local limit = tonumber(ARGV[2])
if limit > 0 then
  local count = redis.call('INCR', KEYS[1])
  if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
  if count > limit then return {-1, redis.call('TTL', KEYS[1])} end
end
local g, back, gttl = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local gens = {}
local function generations(stem)
  local known = gens[stem]
  if known then return known end
  local meta = stem .. g
  local now = redis.call('HMGET', meta, 'n', 'w')
  local n, whole = tonumber(now[1]), {[0] = now[2]}
  if not n then
    local prev = redis.call('HMGET', stem .. (g - 1), 'n', 'c')
    local before = tonumber(prev[2] or '0')
    n = 256
    -- Up to 2^20 buckets: one server's single stem takes what 16 partitions' stems shared.
    while n * 48 < before and n < 1048576 do n = n * 2 end
    redis.call('HSET', meta, 'n', n)
    -- Whole: the stem was in use before this generation began, so every mark of it is here.
    if prev[1] then
      redis.call('HSET', meta, 'w', 1)
      whole[0] = '1'
    end
    redis.call('EXPIRE', meta, gttl)
  end
  local older = {}
  for i = 1, back do
    local old = redis.call('HMGET', stem .. (g - i), 'n', 'w')
    local m = tonumber(old[1])
    whole[i] = old[2]
    if m then older[#older + 1] = {stem .. (g - i) .. ':', m} end
  end
  known = {meta = meta, n = n, older = older, added = 0, whole = whole}
  gens[stem] = known
  return known
end
local out = {0}
-- One server: the marks of every partition are under one stem (ARGV[9]), so an id is one event
-- whoever sends it, as SQL has it. A partition's own stem, where its marks were kept before,
-- is still read for the generations of the window that began before the switch (not whole):
-- none once the one stem has been in use for a window.
local global, legacies = ARGV[9], {}
local function legacy(stem)
  local known = legacies[stem]
  if known then return known end
  local whole = generations(global).whole
  known = {}
  for i = 0, back do
    if not whole[i] then
      local m = tonumber(redis.call('HGET', stem .. (g - i), 'n'))
      if m then known[#known + 1] = {stem .. (g - i) .. ':', m} end
    end
  end
  legacies[stem] = known
  return known
end
local a, k = 10, 1
local lttl = ARGV[8]
for i = 1, tonumber(ARGV[7]) do
  local gen = generations(global ~= '' and global or ARGV[a])
  local d = ARGV[a + 1]
  local h = string.byte(d, 1) * 65536 + string.byte(d, 2) * 256 + string.byte(d, 3)
  local mark = string.sub(d, 4)
  local seen = false
  for _, old in ipairs(gen.older) do
    if redis.call('HEXISTS', old[1] .. (h % old[2]), mark) == 1 then
      seen = true
      break
    end
  end
  if global ~= '' and not seen then
    for _, old in ipairs(legacy(ARGV[a])) do
      if redis.call('HEXISTS', old[1] .. (h % old[2]), mark) == 1 then
        seen = true
        break
      end
    end
  end
  if not seen then
    local bucket = gen.meta .. ':' .. (h % gen.n)
    if redis.call('HSETNX', bucket, mark, '') == 1 then
      redis.call('EXPIRE', bucket, gttl)
    else
      seen = true
    end
  end
  if seen then
    out[#out + 1] = 0
  else
    gen.added = gen.added + 1
    local fields = {}
    for part in string.gmatch(ARGV[a + 9] .. '\\31', '(.-)\\31') do fields[#fields + 1] = part end
    redis.call('XADD', KEYS[k + 1], '*', unpack(fields))
    if ARGV[a + 2] == '1' then
      local live = KEYS[k + 2]
      redis.call('HINCRBY', live, ARGV[a + 5], 1)
      if ARGV[a + 6] ~= '' then redis.call('HINCRBY', live, ARGV[a + 6], 1) end
      if ARGV[a + 8] ~= '' then redis.call('HINCRBYFLOAT', live, ARGV[a + 7], ARGV[a + 8]) end
      redis.call('EXPIRE', live, ARGV[1])
      if ARGV[a + 3] == '1' then
        redis.call('PFADD', KEYS[k + 3], ARGV[a + 4])
        redis.call('EXPIRE', KEYS[k + 3], ARGV[1])
      end
    end
    if ARGV[a + 10] ~= '' then
      local ops = {}
      for part in string.gmatch(ARGV[a + 11] .. '\\31', '(.-)\\31') do ops[#ops + 1] = part end
      local at = tonumber(ARGV[a + 10])
      apply_ledger(KEYS[at], KEYS[at + 1], lttl, ops)
    end
    out[#out + 1] = 1
  end
  k = k + 3
  if ARGV[a + 10] ~= '' then k = k + 2 end
  a = a + 12
end
for _, gen in pairs(gens) do
  if gen.added > 0 then redis.call('HINCRBY', gen.meta, 'c', gen.added) end
end
return out
"""
)

# KEYS: the visitor's ledger, where it was kept before (renamed into place when found). ARGV:
# ttl, then ops:
#   'max', field, value                      keep the larger number
#   'imp', field, entry, window start, keep  add "<ts>/<id>" to a set, drop entries outside
#                                            the window, keep the newest `keep`; <ts> is
#                                            base 36 seconds, or decimal with a '.' (older)
# KEYS: the visitor's ledger, where it was kept before. ARGV: ttl, then the ops (as above).
_LEDGER = (
    _APPLY_LEDGER
    + """
local ops = {}
for i = 2, #ARGV do ops[#ops + 1] = ARGV[i] end
apply_ledger(KEYS[1], KEYS[2], ARGV[1], ops)
return 1
"""
)
