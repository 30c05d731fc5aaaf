--[[
Check and count every window of every meter a request consumes, in one round trip.

All keys share the workspace's hash tag ({ws:<id>}), so the script is Redis Cluster safe.

KEYS[1]            usage stream of the workspace
KEYS[2]            refusals hash of the workspace for the month: counts per "<meter>:<window>",
                   and one marker field per key and window (first refusal, for the audit)
KEYS[3..2+N]       one counter key per window, then the top-up balance of each credits window
ARGV[1]            three MessagePack values, one after the other (cmsgpack decodes numbers as
                   numbers: a tonumber costs Redis more than the arithmetic; and each argument
                   costs Redis ~2k instructions, so one argument carries all three):
  1. the windows' settings, an array of numbers, the same for every request until a window
     ends (the caller packs it once: metering/engine.py, Plan): metering/layout.py's HEAD
     (number of windows N, refusals hash TTL seconds), then per window its WINDOW fields
     (kind, limit, hard, span, extra: layout.py says what each holds).
     Positions are written as an at sign and a name here (at-limit, at-span, ...):
     metering/layout.py renders them into numbers before the script is loaded, so this file
     and the engine cannot disagree on them.
  2. the request's: the cost of each window (units this request consumes), then now,
     milliseconds since the epoch, then each window's cost again as a string (a number given
     to redis.call is formatted with "%.17g", which costs Redis more than the command)
  3. what a refusal records, decoded only then: per window i, from [1 + (i-1)*2]:
       marker           the refusal marker field of this key and window (gcra: its prefix; the
                        second the burst resets is appended)
       label            "<meter>:<window>", the field refusals are counted under
ARGV[2]            the usage event (metering/events.py), appended as field "e" only when admitted

Returns layout.REPLY {admitted, refused_window (1-based or 0), retry_after_ms, flags},
then per window layout.REPLY_WINDOW {value, extra}
flags: admitted: bit 2(i-1) set when window i crossed 80 % of its limit, bit 2(i-1)+1 100 %;
refused: 1 when this is the key's first refusal in that window.
value: fixed/credits: units used, after this request when admitted, before it when refused;
gcra: admitted: the burst capacity left; refused: the capacity in use.
extra: credits: the top-up balance (after this request when admitted); others 0.
]]

local call, tonumber, floor, ceil = redis.call, tonumber, math.floor, math.ceil
local offset, S, R = cmsgpack.unpack_limit(ARGV[1], 2)
local n = S[@head_count]
local now = R[n + 1]

-- Two tables only, made at their full size for up to 8 windows (growing a Lua table
-- reallocates it): the reply, which holds each window's value before this request
-- (and credits' top-up balance) until phase 2 overwrites it, and after[i], the window's
-- value once counted (fixed: units; gcra: the new theoretical arrival time; credits: units
-- from the allowance, the rest comes from the top-up balance). The reply ends at its first
-- nil (set below), so the unused slots are never sent.
local out = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
local after = {0, 0, 0, 0, 0, 0, 0, 0}

-- Phase 1: would every window admit the request? Calendar ("fixed") windows are counted
-- right away (INCRBY answers the new value as a number: no read, no conversion) and
-- uncounted below if the request is refused; burst and credits windows read their state.
local refused_i, retry = 0, 0
for i = 1, n do
  local j = @window_base + (i - 1) * @window_size
  local k, key, l, c = S[j + @kind], KEYS[2 + i], S[j + @limit], R[i]
  local u, t, wait = 0, 0, nil
  if k == @kind_fixed then -- fixed
    if refused_i == 0 then
      local v = call("INCRBY", key, R[n + 1 + i])
      u, after[i] = v - c, v
      if u == 0 then call("PEXPIRE", key, S[j + @span] - now + 3600000) end
      if v > l and S[j + @hard] == 1 then wait = S[j + @span] - now end
    else
      u = tonumber(call("GET", key)) or 0
    end
  elseif k == @kind_gcra then -- gcra
    local w = S[j + @span]
    local interval = w / l
    local tat = tonumber(call("GET", key)) or 0
    if tat < now then tat = now end
    local new_tat = tat + c * interval
    after[i] = new_tat
    u = l - floor((w - (tat - now)) / interval)
    if new_tat - w > now then wait = ceil(new_tat - w - now) end
  else -- credits
    local got = call("MGET", key, KEYS[S[j + @extra]])
    t = tonumber(got[2]) or 0
    u = tonumber(got[1]) or 0
    local from_allowance = l - u
    if from_allowance > c then from_allowance = c elseif from_allowance < 0 then from_allowance = 0 end
    after[i] = from_allowance
    if c - from_allowance > t then wait = S[j + @span] - now end
  end
  out[@reply_w_value + @reply_step * i], out[@reply_w_extra + @reply_step * i] = u, t
  if wait and refused_i == 0 then refused_i, retry = i, wait end
end
out[@reply_end + @reply_step * n] = nil

if refused_i > 0 then
  -- All or nothing: give back what phase 1 counted (the calendar windows up to the refused
  -- one). Count the refusal; a marker makes the first refusal per key and window
  -- recognisable (at most one audit event for it).
  for i = 1, refused_i do
    if S[@window_base + (i - 1) * @window_size + @kind] == @kind_fixed then call("DECRBY", KEYS[2 + i], R[n + 1 + i]) end
  end
  local j = @window_base + (refused_i - 1) * @window_size
  local _, refusal = cmsgpack.unpack_one(ARGV[1], offset)
  local marker, label = refusal[2 * refused_i - 1], refusal[2 * refused_i]
  if S[j + @kind] == @kind_gcra then marker = marker .. floor((now + S[j + @span]) / 1000) end
  local first = call("HSETNX", KEYS[2], marker, "1")
  call("HINCRBY", KEYS[2], label, 1)
  call("EXPIRE", KEYS[2], S[@head_refusals_ttl])
  out[@reply_admitted], out[@reply_refused], out[@reply_retry_ms], out[@reply_flags] = 0, refused_i, retry, first
  return out
end

-- Phase 2: admitted. Count the burst and credits windows (calendar windows were counted in
-- phase 1), note quota crossings, append the usage event.
local flags, bit = 0, 1
for i = 1, n do
  local j = @window_base + (i - 1) * @window_size
  local k, l, before, value, t = S[j + @kind], S[j + @limit], out[@reply_w_value + @reply_step * i], after[i], 0
  if k == @kind_gcra then -- gcra
    local w = S[j + @span]
    -- the key outlives the theoretical arrival time: admitted, value - now <= w
    call("SET", KEYS[2 + i], tostring(value), "PX", S[j + @extra])
    value = floor((w - (value - now)) / (w / l))
  elseif k == @kind_credits then -- credits
    local from_allowance, c, key = value, R[i], KEYS[2 + i]
    value, t = before, out[@reply_w_extra + @reply_step * i]
    if from_allowance > 0 then
      value = call("INCRBY", key, from_allowance)
      if value == from_allowance then call("PEXPIRE", key, S[j + @span] - now + 86400000) end
    end
    if c > from_allowance then
      t = call("DECRBY", KEYS[S[j + @extra]], c - from_allowance)
    end
  end
  if k ~= @kind_gcra then
    if before < 0.8 * l and value >= 0.8 * l then flags = flags + bit end
    if before < l and value >= l then flags = flags + 2 * bit end
  end
  bit = bit * 4
  out[@reply_w_value + @reply_step * i], out[@reply_w_extra + @reply_step * i] = value, t
end
out[@reply_admitted], out[@reply_flags] = 1, flags

call("XADD", KEYS[1], "*", "e", ARGV[2])
return out
