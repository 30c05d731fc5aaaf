-- wrk script shared by the benchmarks: sends BENCH_METHOD (default GET) with BENCH_BODY as a
-- JSON body when set, and BENCH_AUTH as the Authorization header when set; counts response
-- statuses so a run that got anything but 200 (a 401, a 429) is caught.
--   BENCH_METHOD=POST BENCH_BODY='{"text": "hi"}' BENCH_AUTH="Bearer tg_live_..." \
--     wrk -s bench/status.lua http://127.0.0.1:PORT/api/v1/analyze
-- With BENCH_KEYS_FILE (lines "host key", the first skipped: bench/workspaces), each request
-- takes the next pair as its Host and bearer key instead, so many workspaces' keys and hosts
-- go through the caches in turn.
wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
if body ~= nil and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
local auth = os.getenv("BENCH_AUTH")
if auth ~= nil and auth ~= "" then
  wrk.headers["Authorization"] = auth
end

local threads = {}

function setup(thread)
  thread:set("offset", #threads)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  counter = (offset or 0) * 7919  -- threads start at different pairs
end

local keys_file = os.getenv("BENCH_KEYS_FILE")
if keys_file ~= nil and keys_file ~= "" then
  local pairs_, first = {}, true
  for line in io.lines(keys_file) do
    if first then
      first = false
    else
      local host, key = line:match("^(%S+)%s+(%S+)$")
      if host then
        table.insert(pairs_, {host, "Bearer " .. key})
      end
    end
  end

  function request()
    counter = counter + 1
    local pair = pairs_[(counter % #pairs_) + 1]
    return wrk.format(wrk.method, nil, {["Host"] = pair[1], ["Authorization"] = pair[2],
                                        ["Content-Type"] = "application/json"}, wrk.body)
  end
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
