"""The Lua scripts that record a batch of events in Redis (event_ingest.py sends them, and its
docstring says what they guarantee and why the dedupe marks are shaped as they are): the events
script, on an event partition's slot, and the ledger script, on a visitor's slot. Each comment
gives the script's KEYS and ARGV, which event_ingest.py builds.
"""

from __future__ import annotations

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
EVENTS_SCRIPT = (
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
LEDGER_SCRIPT = (
    _APPLY_LEDGER
    + """
local ops = {}
for i = 2, #ARGV do ops[#ops + 1] = ARGV[i] end
apply_ledger(KEYS[1], KEYS[2], ARGV[1], ops)
return 1
"""
)
