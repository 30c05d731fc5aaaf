--[[
Check and count every window of every meter a request consumes, in one round trip.

All keys share the workspace's hash tag ({ws:<id>}), so the script is Redis Cluster safe.
The arguments come in two parts: the windows' (the same for every request until a window
ends, so the caller packs them once: metering/engine.py, Plan), then the request's.

KEYS[1]            usage stream of the workspace
KEYS[2]            refusals hash of the workspace for the month: counts per "<meter>:<window>",
                   and one marker field per key and window (first refusal, for the audit)
KEYS[3..2+N]       one counter key per window, then the top-up balance of each credits window
ARGV[1]            number of windows N
ARGV[2]            refusals hash TTL seconds
then per window i (7 values each, starting at ARGV[3 + (i-1)*7]):
  kind             "gcra" (burst, per key) | "fixed" (calendar window) | "credits"
  limit            requests (gcra), units (fixed), allowance (credits)
  hard             "1" refuse over the limit, "0" admit and count the overage (soft)
  window           gcra: the burst window in ms; fixed/credits: when the window ends, epoch ms
  extra_key_index  index into KEYS of the top-up balance (credits) or 0
  marker           the refusal marker field of this key and window (gcra: its prefix; the
                   second the burst resets is appended)
  label            "<meter>:<window>", the field refusals are counted under
then the request's:
ARGV[3 + 7N ...]   the cost of window i, units this request consumes, N values
ARGV[3 + 8N ...]   the usage event's fields and values, appended only when admitted; the
                   last is the timestamp: now, milliseconds since the epoch

Returns {admitted, refused_window (1-based or 0), retry_after_ms, flags,
         then per window: value, extra}
flags: admitted: bit 2(i-1) set when window i crossed 80 % of its limit, bit 2(i-1)+1 100 %;
refused: 1 when this is the key's first refusal in that window.
value: fixed/credits: units used, after this request when admitted, before it when refused;
gcra: admitted: the burst capacity left; refused: the capacity in use.
extra: credits: the top-up balance (after this request when admitted); others 0.
]]

local n = tonumber(ARGV[1])
local base = 2 + 7 * n
local now = tonumber(ARGV[#ARGV])

-- Phase 1: would every window admit the request? One read of every counter and balance.
local values = n > 0 and redis.call("MGET", unpack(KEYS, 3)) or {}
-- Per-window state, sized for four windows up front (growing eight tables entry by entry
-- is ~5 % of the script's time); more windows simply grow them.
local kind, limit, cost, window = {false, false, false, false}, {0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}
local used, extra, next_value, from_topup = {0, 0, 0, 0}, {false, false, false, false}, {0, 0, 0, 0}, {0, 0, 0, 0}
local refused_i, retry = 0, 0
for i = 1, n do
  local j = 2 + (i - 1) * 7
  local k, l, c, w = ARGV[j + 1], tonumber(ARGV[j + 2]), tonumber(ARGV[base + i]), tonumber(ARGV[j + 4])
  kind[i], limit[i], cost[i], window[i] = k, l, c, w
  local u, refuse, wait = tonumber(values[i] or 0), false, 0
  if k == "gcra" then
    local interval = w / l
    local tat = u
    if tat < now then tat = now end
    local new_tat = tat + c * interval
    next_value[i] = new_tat
    u = l - math.floor((w - (tat - now)) / interval)
    if new_tat - w > now then refuse, wait = true, math.ceil(new_tat - w - now) end
  elseif k == "fixed" then
    if ARGV[j + 3] == "1" and u + c > l then refuse, wait = true, w - now end
  else -- credits
    local topup = tonumber(values[tonumber(ARGV[j + 5]) - 2] or 0)
    local from_allowance = math.min(c, math.max(0, l - u))
    extra[i], next_value[i], from_topup[i] = topup, from_allowance, c - from_allowance
    if c - from_allowance > topup then refuse, wait = true, w - now end
  end
  used[i] = u
  if refuse and refused_i == 0 then refused_i, retry = i, wait end
end

if refused_i > 0 then
  -- All or nothing: nothing is counted. Count the refusal; a marker makes the first
  -- refusal per key and window recognisable (at most one audit event for it).
  local j = 2 + (refused_i - 1) * 7
  local marker = ARGV[j + 6]
  if kind[refused_i] == "gcra" then marker = marker .. math.floor((now + window[refused_i]) / 1000) end
  local first = redis.call("HSETNX", KEYS[2], marker, "1")
  redis.call("HINCRBY", KEYS[2], ARGV[j + 7], 1)
  redis.call("EXPIRE", KEYS[2], tonumber(ARGV[2]))
  local out = {0, refused_i, retry, first}
  for i = 1, n do
    out[3 + 2 * i] = used[i]
    out[4 + 2 * i] = extra[i] or 0
  end
  return out
end

-- Phase 2: admitted. Count every window and append the usage event.
local out, flags, bit = {1, 0, 0, 0}, 0, 1
for i = 1, n do
  local k, key, l, before, after, topup = kind[i], KEYS[2 + i], limit[i], used[i], 0, 0
  if k == "gcra" then
    local w, new_tat = window[i], next_value[i]
    redis.call("SET", key, tostring(new_tat), "PX", math.ceil(new_tat - now) + 1000)
    after = math.floor((w - (new_tat - now)) / (w / l))
  else
    if k == "fixed" then
      after = redis.call("INCRBY", key, cost[i])
      if after == cost[i] then redis.call("PEXPIRE", key, window[i] - now + 3600000) end
    else -- credits
      local from_allowance = next_value[i]
      after, topup = before, extra[i]
      if from_allowance > 0 then
        after = redis.call("INCRBY", key, from_allowance)
        if after == from_allowance then redis.call("PEXPIRE", key, window[i] - now + 86400000) end
      end
      if from_topup[i] > 0 then
        topup = redis.call("DECRBY", KEYS[tonumber(ARGV[2 + (i - 1) * 7 + 5])], from_topup[i])
      end
    end
    if before < 0.8 * l and after >= 0.8 * l then flags = flags + bit end
    if before < l and after >= l then flags = flags + 2 * bit end
  end
  bit = bit * 4
  out[3 + 2 * i] = after
  out[4 + 2 * i] = topup
end
out[4] = flags

redis.call("XADD", KEYS[1], "*", unpack(ARGV, base + n + 1))
return out
