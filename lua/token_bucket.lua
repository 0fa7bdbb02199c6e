-- rateguard: decide several buckets at once, atomically, all-or-nothing.
-- The Lua twin of src/engine/bucket-math.ts; both follow docs/token-bucket-spec.md step by step, in
-- the same order of floating-point operations, and test/engine/vectors.ts holds them together.
--
-- KEYS[i]        one hash per bucket: l = level, s = stamp (see the spec)
-- ARGV[1]        "" to read the clock with Redis TIME; an integer µs only in tests (shared vectors)
-- ARGV[2]        "a" all-or-nothing, "i" independent (the reference service's charging),
--                "r" refund: give back `cost` to each bucket (Redis Cluster, when another slot denied)
-- ARGV[3+7(i-1)..] per bucket: algorithm ("t" token bucket, "f" fixed window), capacity,
--                refill tokens per period, period µs, cost, shadow ("1": its denial denies nothing),
--                overdraft ("1": every charge is applied, into debt if need be: a level below 0)
-- Returns { all_ok, then per bucket: ok, level (string, "%.17g"), reset µs, retry µs }
-- A key given more than once is one bucket (the spec's "Deciding a plan", step 1): decided once for
-- the summed cost, written once, each of its entries in the reply repeating its one result.

local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[1])
end
local all_or_nothing = ARGV[2] == 'a'
local n = #KEYS
local ARGS_PER_BUCKET = 7
-- The longest an overdraft debt may take to repay (a year, µs): keeps reset, retry and PEXPIRE finite.
local MAX_DEBT_US = 31536000000000

-- Repeated keys: one table insert per key finds them; a plan without any does nothing more here,
-- and below only tests `repeat_of == nil`. With them, every later position i of a key gets
-- repeat_of[i] = its first position f, and merged[f] holds the key's cost (the costs added in plan
-- order, as the TypeScript twin adds them) and shadow flag (shadow only if every entry is).
local function param(i, field) return ARGV[2 + (i - 1) * ARGS_PER_BUCKET + field] end
local first_of, repeat_of, merged = {}, nil, nil
for i = 1, n do
  local f = first_of[KEYS[i]]
  if f == nil then
    first_of[KEYS[i]] = i
  else
    if repeat_of == nil then repeat_of, merged = {}, {} end
    repeat_of[i] = f
    local m = merged[f] or { cost = tonumber(param(f, 5)), shadow = param(f, 6) == '1' }
    m.cost = m.cost + tonumber(param(i, 5))
    m.shadow = m.shadow and param(i, 6) == '1'
    merged[f] = m
  end
end

if ARGV[2] == 'r' then
  for i = 1, n do
    if repeat_of == nil or repeat_of[i] == nil then
      local base = 2 + (i - 1) * ARGS_PER_BUCKET
      local cap, period, cost = tonumber(ARGV[base + 2]), tonumber(ARGV[base + 4]), tonumber(ARGV[base + 5])
      if merged ~= nil and merged[i] ~= nil then cost = merged[i].cost end
      local stored = redis.call('HMGET', KEYS[i], 'l', 's')
      local level, stamp = tonumber(stored[1]), tonumber(stored[2])
      if level ~= nil and stamp ~= nil then
        if ARGV[base + 1] == 't' then
          level = level + cost
          if level > cap then level = cap end
          redis.call('HSET', KEYS[i], 'l', string.format('%.17g', level))
        elseif stamp == math.floor(now / period) * period then
          level = level - cost
          if level < 0 then level = 0 end
          redis.call('HSET', KEYS[i], 'l', string.format('%.17g', level))
        end
      end
    end
  end
  return {}
end

local algo, cap, refill, period, cost, shadow, overdraft = {}, {}, {}, {}, {}, {}, {}
local ok, retry, cur_level, cur_stamp, chg_level, chg_stamp = {}, {}, {}, {}, {}, {}
local all_ok = true

for i = 1, n do
  if repeat_of == nil or repeat_of[i] == nil then
    local base = 2 + (i - 1) * ARGS_PER_BUCKET
    algo[i] = ARGV[base + 1]
    cap[i] = tonumber(ARGV[base + 2])
    refill[i] = tonumber(ARGV[base + 3])
    period[i] = tonumber(ARGV[base + 4])
    cost[i] = tonumber(ARGV[base + 5])
    shadow[i] = ARGV[base + 6] == '1'
    overdraft[i] = ARGV[base + 7] == '1'
    if merged ~= nil and merged[i] ~= nil then cost[i], shadow[i] = merged[i].cost, merged[i].shadow end
    local stored = redis.call('HMGET', KEYS[i], 'l', 's')
    local level, stamp = tonumber(stored[1]), tonumber(stored[2])

    if algo[i] == 't' then
      if level == nil or stamp == nil then
        level = cap[i]
        stamp = now
      end
      local elapsed = 0
      if now > stamp then elapsed = now - stamp end
      local tokens = level + (elapsed * refill[i]) / period[i]
      if tokens > cap[i] then tokens = cap[i] end
      cur_level[i], cur_stamp[i] = tokens, now
      -- Applied when allowed, or always with overdraft (below 0 then: a debt, of at most a year).
      local left = tokens - cost[i]
      if overdraft[i] then
        local deepest = -((refill[i] * MAX_DEBT_US) / period[i])
        if left < deepest then left = deepest end
      end
      chg_level[i], chg_stamp[i] = left, now
      if cost[i] > cap[i] and not overdraft[i] then
        ok[i], retry[i] = false, -1
      elseif tokens >= cost[i] then
        ok[i], retry[i] = true, 0
      elseif overdraft[i] then
        -- When the debt after this charge is repaid, so a look can pass.
        ok[i], retry[i] = false, math.ceil(((0 - left) * period[i]) / refill[i])
      else
        ok[i], retry[i] = false, math.ceil(((cost[i] - tokens) * period[i]) / refill[i])
      end
    else
      local start = math.floor(now / period[i]) * period[i]
      local count = 0
      if level ~= nil and stamp == start then count = level end
      cur_level[i], cur_stamp[i] = count, start
      chg_level[i], chg_stamp[i] = count + cost[i], start
      if cost[i] > cap[i] and not overdraft[i] then
        ok[i], retry[i] = false, -1
      elseif count + cost[i] <= cap[i] then
        ok[i], retry[i] = true, 0
      else
        ok[i], retry[i] = false, start + period[i] - now
      end
    end
    if not ok[i] and not shadow[i] then all_ok = false end
  end
end

local reply = { all_ok and 1 or 0 }
for i = 1, n do
  local f = repeat_of and repeat_of[i]
  if f then
    -- A repeated key's result is in the reply already, at its first position.
    local at = 1 + (f - 1) * 4
    for j = 1, 4 do reply[#reply + 1] = reply[at + j] end
  else
    -- Overdraft: always charged (a response already served must not be free), as in the spec.
    local charge
    if overdraft[i] then
      charge = true
    elseif all_or_nothing then
      charge = all_ok and ok[i]
    else
      charge = ok[i] or algo[i] == 'f'
    end
    charge = charge and cost[i] > 0
    local level, stamp = cur_level[i], cur_stamp[i]
    if charge then level, stamp = chg_level[i], chg_stamp[i] end

    local reset, left
    if algo[i] == 't' then
      reset = math.ceil(((cap[i] - level) * period[i]) / refill[i])
      left = level
    else
      reset = stamp + period[i] - now
      left = cap[i] - level
      if left < 0 then left = 0 end
    end

    if charge then
      local ttl_ms = math.ceil(reset / 1000)
      if ttl_ms < 1 then ttl_ms = 1 end
      redis.call('HSET', KEYS[i], 'l', string.format('%.17g', level), 's', string.format('%.17g', stamp))
      redis.call('PEXPIRE', KEYS[i], ttl_ms)
    end

    reply[#reply + 1] = ok[i] and 1 or 0
    reply[#reply + 1] = string.format('%.17g', left)
    reply[#reply + 1] = reset
    reply[#reply + 1] = retry[i]
  end
end
return reply
