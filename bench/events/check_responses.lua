-- Appended by bench/events/ingest.py to its generated post_events.lua for a short check run
-- before timing: every answer must be 202 with all 10 events accepted, none a duplicate,
-- rejected or dropped. Prints "checked <n> bad <n>" and the first bad answer.
local threads = {}
local base_setup, base_init = setup, init

setup = function(thread)
  base_setup(thread)
  table.insert(threads, thread)
end

init = function(args)
  base_init(args)
  checked, bad, example = 0, 0, ""
end

local expected = {'"accepted":10,', '"duplicates":0,', '"rejected":[]', '"bot":0', '"qa":0'}

response = function(status, headers, body)
  checked = checked + 1
  local ok = status == 202
  for _, text in ipairs(expected) do
    ok = ok and string.find(body, text, 1, true) ~= nil
  end
  if not ok then
    bad = bad + 1
    if example == "" then example = status .. " " .. body end
  end
end

done = function(summary, latency, requests)
  local total, failed, first = 0, 0, ""
  for _, thread in ipairs(threads) do
    total = total + thread:get("checked")
    failed = failed + thread:get("bad")
    if first == "" then first = thread:get("example") end
  end
  io.write(string.format("checked %d bad %d\n", total, failed))
  if first ~= "" then io.write("first bad answer: " .. first .. "\n") end
end
