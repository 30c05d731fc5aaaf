-- wrk script of the workspaces benchmark: POST /api/v1/analyze, each request with the next
-- "host key" pair of BENCH_KEYS_FILE (every line after the first), so every workspace's key
-- and host go through the key and host caches in turn. Counts statuses like bench/status.lua.
--   BENCH_KEYS_FILE=var/bench/workspaces_keys.txt wrk -s bench/workspaces/keys.lua http://127.0.0.1:PORT/api/v1/analyze
local pairs_ = {}
local first = true
for line in io.lines(os.getenv("BENCH_KEYS_FILE")) do
  if first then
    first = false
  else
    local host, key = line:match("^(%S+)%s+(%S+)$")
    if host then
      table.insert(pairs_, {host, "Bearer " .. key})
    end
  end
end

local threads = {}
local counter = 0

function setup(thread)
  thread:set("offset", #threads)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  counter = offset * 7919
end

function request()
  counter = counter + 1
  local pair = pairs_[(counter % #pairs_) + 1]
  return wrk.format("POST", nil, {["Host"] = pair[1], ["Authorization"] = pair[2],
                                  ["Content-Type"] = "application/json"}, '{"text": "hi"}')
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(total) do
    table.insert(parts, status .. "=" .. n)
  end
  table.sort(parts)
  io.write("STATUSES " .. table.concat(parts, " ") .. "\n")
end
