-- rateguard: decide a batch of plans at once, each one atomically and all-or-nothing.
-- The Lua twin of src/engine/bucket-math.ts; both follow docs/token-bucket-spec.md step by step, in
-- the same order of floating-point operations, and test/engine/vectors.ts holds them together.
--
-- This file defines decide_call(keys, argv); src/stores/redis/script-call.ts makes it a Redis
-- function (a library that registers it: the helpers and tables below are made once, at FUNCTION
-- LOAD) or, where functions are missing, a script that ends `return decide_call(KEYS, ARGV)`.
-- Nothing at the top level may touch Redis' libraries (struct, math): a library being loaded has
-- none of them yet. No bucket state outlives a call: what does (the arrays a plan's buckets are
-- loaded into, each position written by a load before it is read; the parsed bucket terms, each a
-- function of its text alone) holds nothing a later call reads as state.
--
-- keys           every plan's bucket keys, plan after plan
-- argv[1]        "" to read the clock with Redis TIME; an integer µs only in tests (shared vectors)
-- then per plan: a header, the mode and the bucket count ("a2": all-or-nothing, 2 buckets; "i":
--                independent, the reference service's charging; "r": refund, give back `cost` to
--                each bucket: Redis Cluster, when another slot denied), then one per bucket:
--                its terms and cost "<algorithm><shadow><overdraft> <capacity> <refill> <period µs> <cost>"
--                ("t" token bucket | "f" fixed window, "s" shadow | "-", "o" overdraft | "-");
--                or the header "=" alone: the previous plan again (same mode, keys, terms and costs)
-- State per key: one string, three little-endian doubles: level, stamp, and the ms before which the
-- key does not expire (its expiry as this script last set it). Setting an expiry is the dearest
-- part of a write, so a write that needs no later expiry keeps the key's (SET ... KEEPTTL), and one
-- that does sets it with room to spare (SET ... PX ttl + slack): docs/token-bucket-spec.md, step 6.
-- Returns one string: the time (a double, µs), then per plan a status byte (0 denied, 1 allowed,
-- 2 failed: a 2-byte length and the error follow), then for a decided plan per bucket as sent: ok
-- byte and the final level (a double; a fixed window's count). The reader works out reset and retry
-- from them (src/engine/bucket-math.ts, bucketResult), so Redis does not. Plans are decided one after
-- another at one time, each seeing the writes of those before it; a repeated key within a plan is
-- one bucket (the spec's "Deciding a plan", step 1).
-- Redis' cost is mostly per command, per argument, per table and per value packed, so the call's
-- keys are read with one command and each written once, with its expiry worked out once, a bucket
-- is one argument, a bucket's result two values, and a plan's buckets live in arrays reused from
-- plan to plan.

-- The call's arguments and clock (µs, and ms), set by decide_call.
local call_keys, call_argv, now, now_ms
-- The longest an overdraft debt may take to repay (a year, µs): keeps reset, retry and PEXPIRE finite.
local MAX_DEBT_US = 31536000000000
-- Bound by decide_call (a library being loaded has no struct or math yet, nor Lua's unpack): struct's
-- pack and unpack, and Lua's unpack, of a table's items as arguments.
local pack, unpack_bytes, ceil, floor, unpack_list
-- The room an expiry is set with: as long as the TTL itself, at least 1 s, at most 1 min.
local MIN_SLACK_MS, MAX_SLACK_MS = 1000, 60000

-- Bucket terms and cost, parsed once per distinct string. As a function, kept from call to call: parsing
-- was a tenth of Redis' time for a call of one plan (bench/analysis.md, "The script's fixed cost
-- per call"). Bounded: past MAX_TERMS strings (many configs on one Redis) it starts over.
local terms_of, terms_count, MAX_TERMS = {}, 0, 1024
local function terms(text)
  local t = terms_of[text]
  if t == nil then
    local algo, shadow, overdraft, cap, refill, period, cost = string.match(text, '^(.)(.)(.) (%S+) (%S+) (%S+) (%S+)$')
    t = { fixed = algo == 'f', shadow = shadow == 's', overdraft = overdraft == 'o',
          cap = tonumber(cap), refill = tonumber(refill), period = tonumber(period), cost = tonumber(cost) }
    if terms_count == MAX_TERMS then terms_of, terms_count = {}, 0 end
    terms_of[text], terms_count = t, terms_count + 1
  end
  return t
end

-- Plan headers ("a2": mode byte, bucket count), parsed once each.
local header_of = {}
local function header_parts(text)
  local h = header_of[text]
  if h == nil then
    h = { string.byte(text), tonumber(string.sub(text, 2)) }
    header_of[text] = h
  end
  return h[1], h[2]
end

-- Bucket states of this call, by key: { level, stamp, expiry, key, written, terms } (level false:
-- no state; expiry: the ms the key lives at least, 0 unknown; written: true once changed; terms:
-- the terms of its last charge, nil if none: its expiry is then kept). Read once, kept here as plans
-- change them, written once at the end (`written`).
local state_of, written

local function new_state(key, level, stamp, expiry)
  return { level, stamp, expiry, key, false, false }
end

-- The state of `key`, or nil and the error when the key holds something else.
local function read(key)
  local st = state_of[key]
  if st then return st end
  local v = redis.pcall('GET', key)
  if type(v) == 'table' then
    -- A hash of rateguard 0.1 (fields l and s) is read as the same state, and replaced.
    local old = redis.pcall('HMGET', key, 'l', 's')
    if old.err then return nil, old.err end
    local level, stamp = tonumber(old[1]), tonumber(old[2])
    if level == nil or stamp == nil then level, stamp = false, 0 end
    st = new_state(key, level, stamp, 0)
  elseif v then
    local level, stamp, expiry = unpack_bytes('<ddd', v)
    st = new_state(key, level, stamp, expiry)
  else
    st = new_state(key, false, 0, 0)
  end
  state_of[key] = st
  return st
end

-- A new state in `st`; `charged`: the terms it was charged by (nil: a refund, whose state needs
-- no longer expiry).
local function write(st, level, stamp, charged)
  if not st[5] then
    written[#written + 1] = st
    st[5] = true
  end
  st[1], st[2] = level, stamp
  if charged then st[6] = charged end
end

-- The PX to set for a written state, or nil to keep the key's expiry (spec, step 6): its reset from
-- the last state, which the charges of one call only lower, so that expiry covers each of them.
local function px_of(st)
  local t = st[6]
  if not t then return nil end
  local reset
  if t.fixed then
    reset = st[2] + t.period - now
  else
    reset = ceil(((t.cap - st[1]) * t.period) / t.refill)
  end
  local ttl_ms = ceil(reset / 1000)
  if ttl_ms < 1 then ttl_ms = 1 end
  if st[3] >= now_ms + ttl_ms then return nil end
  local slack = ttl_ms
  if slack < MIN_SLACK_MS then slack = MIN_SLACK_MS elseif slack > MAX_SLACK_MS then slack = MAX_SLACK_MS end
  -- Redis counts PX from its own ms clock, which may be up to 1 ms behind TIME's reading.
  st[3] = now_ms + ttl_ms + slack - 1
  return ttl_ms + slack
end

-- The reply's pieces.
local out
local function failed(message)
  out[#out + 1] = pack('<BI2', 2, #message) .. message
end

-- One plan's buckets, by position; `first[i]` is where bucket i's key first appears in the plan,
-- `cur[i]` its state once read (so a repeated plan, `=`, finds it at once). Every plan's load
-- writes the positions it reads, so these are made once and reused, call after call.
local key, tm, cost, shadow, first, cur = {}, {}, {}, {}, {}, {}
local ok, level, stamp, charged, reply = {}, {}, {}, {}, {}

-- Loads the plan of `count` buckets at call_keys[k], call_argv[a]: a repeated key (spec, "Deciding a plan",
-- step 1) is one bucket at its first position, its cost the sum in plan order, shadow only if
-- every entry is.
local function load(count, k, a)
  for i = 1, count do
    local name, t = call_keys[k + i - 1], terms(call_argv[a + i - 1])
    local c = t.cost
    local f = i
    for j = 1, i - 1 do
      if first[j] == j and key[j] == name then f = j; break end
    end
    key[i], tm[i], first[i], cur[i] = name, t, f, false
    if f == i then
      cost[i], shadow[i] = c, t.shadow
    else
      cost[f] = cost[f] + c
      shadow[f] = shadow[f] and t.shadow
    end
  end
end

-- A refund (spec, "Refunds"): a token bucket's level min(C, l + k), a fixed window's count
-- max(0, l - k) if still the same window; absent state stays absent. No reply but the status.
local function refund(count)
  for i = 1, count do
    if first[i] == i then
      local st, err = read(key[i])
      if err then return failed(err) end
      cur[i] = st
    end
  end
  for i = 1, count do
    local st, t = cur[i], tm[i]
    local l = first[i] == i and st[1]
    if l then
      local s = st[2]
      if not t.fixed then
        l = l + cost[i]
        if l > t.cap then l = t.cap end
        write(st, l, s, nil)
      elseif s == floor(now / t.period) * t.period then
        l = l - cost[i]
        if l < 0 then l = 0 end
        write(st, l, s, nil)
      end
    end
  end
  out[#out + 1] = '\1'
end

local function decide(count, all_or_nothing)
  local all_ok = true
  for i = 1, count do
    if first[i] == i then
      local st = cur[i]
      if not st then
        local err
        st, err = read(key[i])
        if err then return failed(err) end
        cur[i] = st
      end
      local t, c = tm[i], cost[i]
      local l, s = st[1], st[2]
      local cap, period, overdraft = t.cap, t.period, t.overdraft
      local good
      if not t.fixed then
        local refill = t.refill
        if not l then l, s = cap, now end
        local elapsed = 0
        if now > s then elapsed = now - s end
        local tokens = l + (elapsed * refill) / period
        if tokens > cap then tokens = cap end
        level[i], stamp[i] = tokens, now
        -- Applied when allowed, or always with overdraft (below 0 then: a debt, of at most a year).
        local left = tokens - c
        if overdraft then
          local deepest = -((refill * MAX_DEBT_US) / period)
          if left < deepest then left = deepest end
        end
        charged[i] = left
        good = tokens >= c and (overdraft or c <= cap)
      else
        local start = floor(now / period) * period
        local hits = 0
        if l and s == start then hits = l end
        level[i], stamp[i], charged[i] = hits, start, hits + c
        good = hits + c <= cap
      end
      ok[i] = good
      if not good and not shadow[i] then all_ok = false end
    end
  end

  local n = #out + 1
  out[n] = all_ok and '\1' or '\0'
  for i = 1, count do
    local f = first[i]
    local r
    if f == i then
      local t = tm[i]
      local good = ok[i]
      -- Overdraft: always charged (a response already served must not be free), as in the spec.
      local charge
      if t.overdraft then
        charge = true
      elseif all_or_nothing then
        charge = all_ok and good
      else
        charge = good or t.fixed
      end
      local l
      if charge and cost[i] > 0 then
        l = charged[i]
        write(cur[i], l, stamp[i], t)
      else
        l = level[i]
      end
      r = pack('<Bd', good and 1 or 0, l)
      reply[i] = r
    else
      -- A repeated key's entry repeats its one result.
      r = reply[f]
    end
    out[n + i] = r
  end
end

-- Reads every key of the call with one MGET (a command per key was most of what a call of
-- distinct keys cost Redis beyond its Lua work: bench/analysis.md, "One read per call"). A key
-- MGET finds no string in is absent, or holds a hash of rateguard 0.1 (or something else): when
-- EXISTS says none of them exists, they are all absent; otherwise `read` looks at each with GET.
-- A Redis that refuses MGET or EXISTS (an ACL of an earlier rateguard) leaves every key to `read`.
local function prefetch(keys)
  local values = redis.pcall('MGET', unpack_list(keys))
  if values.err then return end
  local missing, n = {}, 0
  for i = 1, #keys do
    local v, name = values[i], keys[i]
    if v then
      local level, stamp, expiry = unpack_bytes('<ddd', v)
      state_of[name] = new_state(name, level, stamp, expiry)
    else
      n = n + 1
      missing[n] = name
    end
  end
  if n > 0 and redis.pcall('EXISTS', unpack_list(missing)) == 0 then
    for i = 1, n do state_of[missing[i]] = new_state(missing[i], false, 0, 0) end
  end
end

local function decide_call(keys, argv)
  call_keys, call_argv = keys, argv
  pack, unpack_bytes, ceil, floor, unpack_list = struct.pack, struct.unpack, math.ceil, math.floor, unpack
  if argv[1] == '' then
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  else
    now = tonumber(argv[1])
  end
  now_ms = floor(now / 1000)
  state_of, written = {}, {}
  out = { pack('<d', now) }
  if #keys > 0 then prefetch(keys) end

  local k, a = 1, 2
  local mode, count
  while a <= #argv do
    local header = argv[a]
    if header == '=' then
      -- The loaded plan's arrays hold until the next load: a repeat reuses them.
      a = a + 1
    else
      mode, count = header_parts(header)
      load(count, k, a + 1)
      k, a = k + count, a + 1 + count
    end
    if mode == 114 then -- 'r'
      refund(count)
    else
      decide(count, mode == 97) -- 'a'
    end
  end

  for _, st in ipairs(written) do
    local px = px_of(st)
    local state = pack('<ddd', st[1], st[2], st[3])
    if px then
      redis.call('SET', st[4], state, 'PX', px)
    else
      redis.call('SET', st[4], state, 'KEEPTTL')
    end
  end
  return table.concat(out)
end
