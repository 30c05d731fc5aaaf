-- wrk script shared by the benchmarks: sends BENCH_METHOD (default GET) with BENCH_BODY as a
-- JSON body when set, and BENCH_AUTH as the Authorization header when set; counts response
-- statuses so a run that got anything but 200 (a 401, a 429) is caught.
--   BENCH_METHOD=POST BENCH_BODY='{"text": "hi"}' BENCH_AUTH="Bearer tg_live_..." \
--     wrk -s bench/status.lua http://127.0.0.1:PORT/api/v1/analyze
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
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
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
