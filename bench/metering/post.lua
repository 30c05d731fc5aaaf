-- wrk script for the metering benchmark: POST a trivial JSON body, optionally with an
-- Authorization header, and count response statuses so a run that got 429s (or
-- anything but 200) is caught.
--   BENCH_AUTH="Bearer tg_live_..." wrk -s bench/metering/post.lua http://127.0.0.1:PORT/api/v1/analyze
wrk.method = "POST"
wrk.body = '{"text": "hi"}'
wrk.headers["Content-Type"] = "application/json"
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
