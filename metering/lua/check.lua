--[[
Check and count every window of every meter a request consumes, in one round trip.

All keys share the workspace's hash tag ({ws:<id>}), so the script is Redis Cluster safe.

KEYS[1]            usage stream of the workspace
KEYS[2]            refusals hash of the workspace for the month: counts per "<meter>:<window>",
                   and one marker field per key and window (first refusal, for the audit)
KEYS[3..]          one counter key per check, then the top-up balance of each credits check
ARGV[1]            now, milliseconds since the epoch
ARGV[2]            number of checks N
ARGV[3]            usage event fields, encoded "k1\tv1\tk2\tv2..." (appended only when admitted)
ARGV[4]            refusals hash TTL seconds
then per check i (8 values each, starting at ARGV[5 + (i-1)*8]):
  kind             "gcra" (burst, per key) | "fixed" (calendar window) | "credits"
  limit            requests (gcra), units (fixed), allowance (credits)
  cost             units this request consumes
  window_ms        gcra: the burst window; fixed/credits: ms until the window resets
  hard             "1" refuse over the limit, "0" admit and count the overage (soft)
  extra_key_index  index into KEYS of the top-up balance (credits) or 0
  marker           the refusal marker field of this key and window
  label            "<meter>:<window>", the field refusals are counted under

Returns {admitted, refused_check (1-based or 0), retry_after_ms, first_refusal,
         then per check: used, crossed_80, crossed_100, extra}
"used" is after this request when admitted, before it when refused. For gcra it is
admitted: the remaining burst capacity; refused: the capacity in use.
For credits "extra" is the top-up balance after this request.
]]

local now = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local state = {}

local function arg(i, j) return ARGV[4 + (i - 1) * 8 + j] end

-- Phase 1: would every window admit the request? (reads only)
local refused_i = 0
for i = 1, n do
  local kind, limit, cost = arg(i, 1), tonumber(arg(i, 2)), tonumber(arg(i, 3))
  local window, hard = tonumber(arg(i, 4)), arg(i, 5) == "1"
  local key = KEYS[2 + i]
  local s = {kind = kind, limit = limit, cost = cost, window = window, hard = hard, key = key}
  if kind == "gcra" then
    local interval = window / limit
    local tat = tonumber(redis.call("GET", key) or now)
    if tat < now then tat = now end
    local new_tat = tat + cost * interval
    local allow_at = new_tat - window
    s.new_tat, s.interval = new_tat, interval
    s.used = limit - math.floor((window - (tat - now)) / interval)
    if allow_at > now then
      s.refused = true
      s.retry = math.ceil(allow_at - now)
    end
  elseif kind == "fixed" then
    local used = tonumber(redis.call("GET", key) or "0")
    s.used = used
    if hard and used + cost > limit then
      s.refused = true
      s.retry = window
    end
  else -- credits
    local used = tonumber(redis.call("GET", key) or "0")
    local topup_key = KEYS[tonumber(arg(i, 6))]
    local topup = tonumber(redis.call("GET", topup_key) or "0")
    local from_allowance = math.min(cost, math.max(0, limit - used))
    local from_topup = cost - from_allowance
    s.used, s.topup_key, s.topup = used, topup_key, topup
    s.from_allowance, s.from_topup = from_allowance, from_topup
    if from_topup > topup then
      s.refused = true
      s.retry = window
    end
  end
  state[i] = s
  if s.refused and refused_i == 0 then refused_i = i end
end

if refused_i > 0 then
  -- All or nothing: nothing is counted. Count the refusal; a marker makes the first
  -- refusal per key and window recognisable (at most one audit event for it).
  local s = state[refused_i]
  local first = redis.call("HSETNX", KEYS[2], arg(refused_i, 7), "1")
  redis.call("HINCRBY", KEYS[2], arg(refused_i, 8), 1)
  redis.call("EXPIRE", KEYS[2], tonumber(ARGV[4]))
  local out = {0, refused_i, s.retry, first}
  for i = 1, n do
    table.insert(out, state[i].used); table.insert(out, 0); table.insert(out, 0); table.insert(out, state[i].topup or 0)
  end
  return out
end

-- Phase 2: admitted. Count every window and append the usage event.
local out = {1, 0, 0, 0}
for i = 1, n do
  local s = state[i]
  if s.kind == "gcra" then
    redis.call("SET", s.key, tostring(s.new_tat), "PX", math.ceil(s.new_tat - now) + 1000)
    local remaining = math.floor((s.window - (s.new_tat - now)) / s.interval)
    table.insert(out, remaining); table.insert(out, 0); table.insert(out, 0); table.insert(out, 0)
  elseif s.kind == "fixed" then
    local after = redis.call("INCRBY", s.key, s.cost)
    if after == s.cost then redis.call("PEXPIRE", s.key, s.window + 3600000) end
    local c80 = (s.used < 0.8 * s.limit and after >= 0.8 * s.limit) and 1 or 0
    local c100 = (s.used < s.limit and after >= s.limit) and 1 or 0
    table.insert(out, after); table.insert(out, c80); table.insert(out, c100); table.insert(out, 0)
  else
    local after = s.used
    if s.from_allowance > 0 then
      after = redis.call("INCRBY", s.key, s.from_allowance)
      if after == s.from_allowance then redis.call("PEXPIRE", s.key, s.window + 86400000) end
    end
    local topup_after = s.topup
    if s.from_topup > 0 then topup_after = redis.call("DECRBY", s.topup_key, s.from_topup) end
    local c80 = (s.used < 0.8 * s.limit and after >= 0.8 * s.limit) and 1 or 0
    local c100 = (s.used < s.limit and after >= s.limit) and 1 or 0
    table.insert(out, after); table.insert(out, c80); table.insert(out, c100); table.insert(out, topup_after)
  end
end

local fields = {}
for field in string.gmatch(ARGV[3], "[^\t]+") do table.insert(fields, field) end
redis.call("XADD", KEYS[1], "*", unpack(fields))
return out
