"""Recording accepted events in Redis: one round trip per request.

Two scripts travel in one pipeline:

- the events script, on the `{events}` slot: per event, a dedupe mark (SET NX with a TTL);
  only if the mark is new, XADD to the stream, live counters and the unique-visitor
  HyperLogLog. Deduplication and the append happen in one script, so an event id can never
  be appended twice, and a crash between them cannot happen. It also counts the client's
  requests for rate limiting and refuses the whole batch, touching nothing, when over.
- the ledger script, on each visitor's slot: caps, snoozes, supporter and last-impression
  marks. Its operations are idempotent (a max, or a set of impression times), so they need not
  know which events were duplicates.

Scripts are called by SHA; after a Redis restart (NOSCRIPT) only the refused commands are
sent again with the script, so nothing is applied twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import redis
from redis.exceptions import NoScriptError

from service.domain.events import EventRecord, EventType
from service.domain.ledger import LedgerOp
from service.store.redis.keys import Keys

LIVE_TTL_SECONDS = 3 * 86_400
_SEPARATOR = "\x1f"  # ASCII unit separator
RATE_WINDOW_SECONDS = 60


@dataclass(frozen=True, slots=True)
class RateLimited:
    retry_after: int


@dataclass(frozen=True, slots=True)
class Recorded:
    new: tuple[bool, ...]  # per record: True if first seen, False if a duplicate


class EventIngest:
    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        *,
        dedupe_ttl: int,
        ledger_ttl: int,
        rate_limit_per_minute: int,
    ) -> None:
        self._client = client
        self._keys = keys
        self._dedupe_ttl = dedupe_ttl
        self._ledger_ttl = ledger_ttl
        self._rate_limit = rate_limit_per_minute
        self._scripts = {_sha(_EVENTS): _EVENTS, _sha(_LEDGER): _LEDGER}

    def record(
        self,
        records: Sequence[EventRecord],
        ledger_ops: dict[str, list[LedgerOp]],
        client_ip: str,
        day: str,
        *,
        rate_limited: bool = True,
    ) -> Recorded | RateLimited:
        commands: list[tuple[str, ...]] = [
            self._events_command(records, client_ip, day, rate_limited)
        ]
        for visitor, ops in ledger_ops.items():
            if ops:
                args = [str(self._ledger_ttl)] + [part for op in ops for part in op]
                commands.append(("EVALSHA", _sha(_LEDGER), "1", self._keys.ledger(visitor), *args))
        results = self._run(commands)
        first = results[0]
        if int(first[0]) < 0:
            return RateLimited(max(1, int(first[1])))
        return Recorded(tuple(bool(int(flag)) for flag in first[1:]))

    def _run(self, commands: list[tuple[str, ...]]) -> list[list[int]]:
        pipe = self._client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)  # type: ignore[no-untyped-call]
        results = pipe.execute(raise_on_error=False)
        retry = [i for i, result in enumerate(results) if isinstance(result, NoScriptError)]
        if retry:
            # A refused EVALSHA ran nothing, so sending the script itself is safe.
            pipe = self._client.pipeline(transaction=False)
            for i in retry:
                sha = commands[i][1]
                script = self._scripts[sha]
                pipe.execute_command("EVAL", script, *commands[i][2:])  # type: ignore[no-untyped-call]
            for i, result in zip(retry, pipe.execute(raise_on_error=False), strict=True):
                results[i] = result
        for result in results:
            if isinstance(result, Exception):
                raise result
        return results

    def _events_command(
        self, records: Sequence[EventRecord], client_ip: str, day: str, rate_limited: bool
    ) -> tuple[str, ...]:
        keys = [self._keys.events_stream(), self._keys.rate_limit(client_ip)]
        args = [
            str(self._dedupe_ttl),
            str(LIVE_TTL_SECONDS),
            str(self._rate_limit if rate_limited else 0),
            str(RATE_WINDOW_SECONDS),
            str(len(records)),
        ]
        for record in records:
            keys += [
                self._keys.event_seen(record.event_id),
                self._keys.live_counters(record.experiment, day),
                self._keys.live_visitors(record.experiment, record.variant, day),
            ]
            # The stream fields travel as one string the script splits: packing ~20 separate
            # arguments per event was a fifth of the request's CPU. Every value is validated
            # to a character set without the separator.
            packed = _SEPARATOR.join(part for pair in record.to_fields().items() for part in pair)
            args += [
                "1" if record.counted else "0",
                "1" if record.type == EventType.impression else "0",
                record.visitor,
                f"{record.variant}:{record.type.value}",
                f"{record.variant}:dismiss:{record.reason}" if record.reason else "",
                f"{record.variant}:revenue",
                repr(record.revenue) if record.revenue else "",
                packed,
            ]
        return ("EVALSHA", _sha(_EVENTS), str(len(keys)), *keys, *args)


def _sha(script: str) -> str:
    return hashlib.sha1(script.encode()).hexdigest()


# KEYS: stream, rate key, then (seen, live, hll) per event.
# ARGV: seen ttl, live ttl, rate limit (0 = off), rate window, n, then per event:
#   counted, is_impression, visitor, type field, dismiss field | "", revenue field,
#   revenue | "", the XADD field/value pairs joined by \x1f.
# Returns {0, new_1, ..., new_n}, or {-1, seconds until the rate window resets}.
_EVENTS = """
local limit = tonumber(ARGV[3])
if limit > 0 then
  local count = redis.call('INCR', KEYS[2])
  if count == 1 then redis.call('EXPIRE', KEYS[2], ARGV[4]) end
  if count > limit then return {-1, redis.call('TTL', KEYS[2])} end
end
local out = {0}
local a = 6
for i = 1, tonumber(ARGV[5]) do
  local k = 2 + (i - 1) * 3
  if redis.call('SET', KEYS[k + 1], '1', 'NX', 'EX', ARGV[1]) then
    local fields = {}
    for part in string.gmatch(ARGV[a + 7] .. '\\31', '(.-)\\31') do fields[#fields + 1] = part end
    redis.call('XADD', KEYS[1], '*', unpack(fields))
    if ARGV[a] == '1' then
      local live = KEYS[k + 2]
      redis.call('HINCRBY', live, ARGV[a + 3], 1)
      if ARGV[a + 4] ~= '' then redis.call('HINCRBY', live, ARGV[a + 4], 1) end
      if ARGV[a + 6] ~= '' then redis.call('HINCRBYFLOAT', live, ARGV[a + 5], ARGV[a + 6]) end
      redis.call('EXPIRE', live, ARGV[2])
      if ARGV[a + 1] == '1' then
        redis.call('PFADD', KEYS[k + 3], ARGV[a + 2])
        redis.call('EXPIRE', KEYS[k + 3], ARGV[2])
      end
    end
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
  a = a + 8
end
return out
"""

# KEYS: the visitor's ledger. ARGV: ttl, then ops:
#   'max', field, value                      keep the larger number
#   'imp', field, entry, window start, keep  add "<ts>/<id>" to a set, drop entries outside
#                                            the window, keep the newest `keep`
_LEDGER = """
local key = KEYS[1]
local a = 2
while a <= #ARGV do
  local op, field = ARGV[a], ARGV[a + 1]
  if op == 'max' then
    local current = tonumber(redis.call('HGET', key, field) or '-1')
    if tonumber(ARGV[a + 2]) > current then redis.call('HSET', key, field, ARGV[a + 2]) end
    a = a + 3
  else
    local entry, start, keep = ARGV[a + 2], tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
    local entries, seen = {}, {}
    for e in string.gmatch((redis.call('HGET', key, field) or '') .. ' ' .. entry, '%S+') do
      local t = tonumber(string.match(e, '^[^/]+'))
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
redis.call('EXPIRE', key, ARGV[1])
return 1
"""
