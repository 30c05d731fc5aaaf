--[[
Check and count every window of every meter a request consumes, in one round trip.

All keys share the workspace's hash tag ({ws:<id>}), so the script is Redis Cluster safe.
The arguments come in two parts: the windows' (the same for every request until a window
ends, so the caller packs them once: metering/engine.py, Plan), then the request's.

KEYS[1]            usage stream of the workspace
KEYS[2]            refusals hash of the workspace for the month: counts per "<meter>:<window>",
                   and one marker field per key and window (first refusal, for the audit)
KEYS[3..2+N]       one counter key per window, then the top-up balance of each credits window
ARGV[1]            the windows' settings, one MessagePack array of numbers (decoded by cmsgpack,
                   so they arrive as numbers: a tonumber costs Redis more than the arithmetic):
  [1] number of windows N, [2] refusals hash TTL seconds, then per window i, from [3 + (i-1)*5]:
  kind             1 gcra (burst, per key) | 2 fixed (calendar window) | 3 credits
  limit            requests (gcra), units (fixed), allowance (credits)
  hard             1 refuse over the limit, 0 admit and count the overage (soft)
  window           gcra: the burst window in ms; fixed/credits: when the window ends, epoch ms
  extra_key_index  index into KEYS of the top-up balance (credits) or 0
ARGV[2]            what a refusal records, one MessagePack array, decoded only then: per window
                   i, from [1 + (i-1)*2]:
  marker           the refusal marker field of this key and window (gcra: its prefix; the
                   second the burst resets is appended)
  label            "<meter>:<window>", the field refusals are counted under
then the request's:
ARGV[3]            one MessagePack array: the cost of each window (units this request
                   consumes), then now, milliseconds since the epoch
ARGV[4]            the usage event (metering/events.py), appended as field "e" only when admitted

Returns {admitted, refused_window (1-based or 0), retry_after_ms, flags,
         then per window: value, extra}
flags: admitted: bit 2(i-1) set when window i crossed 80 % of its limit, bit 2(i-1)+1 100 %;
refused: 1 when this is the key's first refusal in that window.
value: fixed/credits: units used, after this request when admitted, before it when refused;
gcra: admitted: the burst capacity left; refused: the capacity in use.
extra: credits: the top-up balance (after this request when admitted); others 0.
]]

local call, tonumber, floor, ceil = redis.call, tonumber, math.floor, math.ceil
local S, R = cmsgpack.unpack(ARGV[1]), cmsgpack.unpack(ARGV[3])
local n = S[1]
local now = R[n + 1]

-- Phase 1: would every window admit the request? Calendar ("fixed") windows are counted
-- right away (INCRBY answers the new value as a number: no read, no conversion) and
-- uncounted below if the request is refused; burst and credits windows read their state.
-- Each number is converted once: tonumber on an argument costs more than the arithmetic.
-- used[i]: the window's value before this request; after[i]: its value once counted (gcra:
-- the new theoretical arrival time; credits: units from the allowance); topup[i]: credits
-- only, the top-up balance (units from it are cost - after[i]); counted[i]: fixed, INCRBY done.
local limit, cost, used, after, topup, counted = {}, {}, {}, {}, {}, {}
local refused_i, retry = 0, 0
for i = 1, n do
  local j = 2 + (i - 1) * 5
  local k, key, l, c = S[j + 1], KEYS[2 + i], S[j + 2], R[i]
  local u, wait = 0, nil
  if k == 2 then -- fixed
    if refused_i == 0 then
      local v = call("INCRBY", key, c)
      if v == c then call("PEXPIRE", key, S[j + 4] - now + 3600000) end
      counted[i], u, after[i] = true, v - c, v
      if v > l and S[j + 3] == 1 then wait = S[j + 4] - now end
    else
      u = tonumber(call("GET", key)) or 0
    end
  elseif k == 1 then -- gcra
    local w = S[j + 4]
    local interval = w / l
    local tat = tonumber(call("GET", key)) or 0
    if tat < now then tat = now end
    local new_tat = tat + c * interval
    after[i] = new_tat
    u = l - floor((w - (tat - now)) / interval)
    if new_tat - w > now then wait = ceil(new_tat - w - now) end
  else -- credits
    local got = call("MGET", key, KEYS[S[j + 5]])
    local t = tonumber(got[2]) or 0
    u = tonumber(got[1]) or 0
    local from_allowance = l - u
    if from_allowance > c then from_allowance = c elseif from_allowance < 0 then from_allowance = 0 end
    after[i], topup[i] = from_allowance, t
    if c - from_allowance > t then wait = S[j + 4] - now end
  end
  limit[i], cost[i], used[i] = l, c, u
  if wait and refused_i == 0 then refused_i, retry = i, wait end
end

if refused_i > 0 then
  -- All or nothing: nothing is counted. Count the refusal; a marker makes the first
  -- refusal per key and window recognisable (at most one audit event for it).
  local j = 2 + (refused_i - 1) * 5
  local refusal = cmsgpack.unpack(ARGV[2])
  local marker, label = refusal[2 * refused_i - 1], refusal[2 * refused_i]
  if S[j + 1] == 1 then marker = marker .. floor((now + S[j + 4]) / 1000) end
  for i = 1, n do
    if counted[i] then call("DECRBY", KEYS[2 + i], cost[i]) end
  end
  local first = call("HSETNX", KEYS[2], marker, "1")
  call("HINCRBY", KEYS[2], label, 1)
  call("EXPIRE", KEYS[2], S[2])
  local out = {0, refused_i, retry, first}
  for i = 1, n do
    out[3 + 2 * i] = used[i]
    out[4 + 2 * i] = topup[i] or 0
  end
  return out
end

-- Phase 2: admitted. Count the burst and credits windows (calendar windows were counted in
-- phase 1), note quota crossings, append the usage event.
local out, flags, bit = {1, 0, 0, 0}, 0, 1
for i = 1, n do
  local j = 2 + (i - 1) * 5
  local k, key, l, before, value, t = S[j + 1], KEYS[2 + i], limit[i], used[i], 0, 0
  if k == 2 then -- fixed
    value = after[i]  -- counted in phase 1
  elseif k == 1 then -- gcra
    local new_tat, w = after[i], S[j + 4]
    call("SET", key, tostring(new_tat), "PX", ceil(new_tat - now) + 1000)
    value = floor((w - (new_tat - now)) / (w / l))
  else -- credits
    local from_allowance, c = after[i], cost[i]
    value, t = before, topup[i]
    if from_allowance > 0 then
      value = call("INCRBY", key, from_allowance)
      if value == from_allowance then call("PEXPIRE", key, S[j + 4] - now + 86400000) end
    end
    if c > from_allowance then
      t = call("DECRBY", KEYS[S[j + 5]], c - from_allowance)
    end
  end
  if k ~= 1 then
    if before < 0.8 * l and value >= 0.8 * l then flags = flags + bit end
    if before < l and value >= l then flags = flags + 2 * bit end
  end
  bit = bit * 4
  out[3 + 2 * i] = value
  out[4 + 2 * i] = t
end
out[4] = flags

call("XADD", KEYS[1], "*", "e", ARGV[4])
return out
