-- POST /v1/events: a batch of 10 valid events per request, sent as snippet.js sends them with
-- navigator.sendBeacon (text/plain, from a desktop browser on a publisher's page).
--
-- Not run on its own: bench/events/ingest.py writes a copy under a temp dir with two globals
-- prepended, `tokens` (a pool of valid decision tokens, one visitor each, issued at start)
-- and `tokens_per_batch` (how many of them one batch uses). Every event gets a new UUID-shaped
-- id, unique per run, wrk thread and request, so none is a duplicate.
local kinds = {"impression", "impression", "impression", "impression", "impression",
               "view", "view", "view", "click", "dismiss"}
local reasons = {"remind_later", "close", "already_donated"}
local counter = 0

setup = function(thread)
  counter = counter + 1
  thread:set("id", counter)
end

init = function(args)
  -- 32 random bits per run and thread, then the thread's number: no two runs share a prefix
  -- (bar a 1 in 2^32 chance), and within a run the request counter tells the ids apart.
  local urandom = io.open("/dev/urandom", "rb")
  local a, b, c, d = urandom:read(4):byte(1, 4)
  urandom:close()
  math.randomseed(((a * 256 + b) * 256 + c) * 256 + d)
  prefix = string.format("%02x%02x%02x%02x-%04x-4", a, b, c, d, id)
  sent = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "text/plain;charset=UTF-8"
  wrk.headers["User-Agent"] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    .. "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
  wrk.headers["Origin"] = "https://news.example"
  wrk.headers["CF-IPCountry"] = "US"
end

request = function()
  local ts = os.date("!%Y-%m-%dT%H:%M:%SZ")
  local picked = {}
  for i = 1, tokens_per_batch do
    picked[i] = tokens[math.random(1, #tokens)]
  end
  local events = {}
  for i = 1, #kinds do
    sent = sent + 1
    local event_id = prefix .. string.format("%03x-%04x-%012x",
      math.random(0, 0xfff), math.random(0, 0xffff), sent)
    local event = '{"id":"' .. event_id .. '","type":"' .. kinds[i] .. '","token":"'
      .. picked[(i - 1) % tokens_per_batch + 1] .. '","ts":"' .. ts .. '"'
    if kinds[i] == "dismiss" then
      event = event .. ',"reason":"' .. reasons[math.random(1, #reasons)] .. '"'
    end
    events[i] = event .. "}"
  end
  return wrk.format(nil, "/v1/events", nil, '{"events":[' .. table.concat(events, ",") .. "]}")
end
