-- A new random reader on a random placement for every request, as on a busy news site.
local placements = {"article-end", "bottom-banner", "header"}
local sections = {"world", "politics", "climate", "culture"}
local counter = 0

setup = function(thread)
  counter = counter + 1
  thread:set("id", counter)
end

init = function(args)
  math.randomseed(os.time() * 1000 + id)
  wrk.headers["CF-IPCountry"] = "US"
  wrk.headers["User-Agent"] = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile"
end

request = function()
  local visitor = string.format("bench%08x%08x", math.random(0, 0x7fffffff), math.random(0, 0x7fffffff))
  local path = "/v1/decision?visitor=" .. visitor
    .. "&placement=" .. placements[math.random(1, #placements)]
    .. "&section=" .. sections[math.random(1, #sections)]
    .. "&lang=en&article_views=" .. math.random(0, 12)
  return wrk.format("GET", path)
end
