--- Lua scripts of mel.stores.redis.RedisStore; the layout is described in docs/redis-layout.md.
---
--- This file holds a shared prelude and one section per script, each starting with a line
--- "--- @script NAME". The store prepends the prelude to every section (except those marked
--- "bare") and loads each result once (SCRIPT LOAD), then calls it by SHA.
---
--- Every script gets one key, KEYS[1] = "{ns}:", the prefix of every key of the namespace,
--- so the hash tag routes every call to the one slot that holds all of them. Times are
--- integer milliseconds passed in as strings; the scripts never read the server clock.
--- Task ids arrive in their stored "key form" (32-hex ids packed to 17 bytes); the scripts
--- treat them as opaque strings.
---
--- No script calls unpack() on a list whose length a caller controls: Lua's C stack holds
--- about 8,000 values, so long lists go through `chunked`.

--- @prelude
local P = KEYS[1]
local K_DUE, K_LEASED = P .. 'due', P .. 'leased'
local K_QUEUE, K_ATTEMPTS = P .. 'queue', P .. 'attempts'
local K_LDUE, K_OWNER, K_TOKEN = P .. 'ldue', P .. 'owner', P .. 'token'
local K_FAILED, K_FAILED_AT, K_FAILED_EXP = P .. 'failed', P .. 'failed:at', P .. 'failed:exp'
local K_PROGRESS, K_PROGRESS_EXP = P .. 'progress', P .. 'progress:exp'
local K_WAKE = P .. 'wake'
local PAGE = 1000

-- Data lives in 16384 small hashes rather than one big one: a hash of up to
-- hash-max-listpack-entries fields is stored as one compact listpack, which saves the ~70
-- bytes of dict overhead a big hash pays per field. But a listpack is searched field by
-- field, so each stays short: at 4096 buckets, a 1,000,000-task backlog made every claim
-- and finish scan ~250 fields (their cost 4x). A packed id (0xFF and 16 bytes) picks its
-- bucket by its last 14 bits, which are random in Mel's ids, and so saves a SHA-1 per task
-- written, claimed or finished; any other id by its SHA-1's first four hex digits, mod 16384.
-- write_new repeats this function.
local function bucket(id)
  if #id == 17 and string.byte(id) == 255 then
    return string.format('%sd:%04x', P, string.byte(id, 16) % 64 * 256 + string.byte(id, 17))
  end
  return string.format('%sd:%04x', P, tonumber(string.sub(redis.sha1hex(id), 1, 4), 16) % 16384)
end

-- Run CMD KEY with the items of `list` as arguments, at most PAGE at a time (PAGE is even,
-- so field/value and score/member pairs never straddle two calls).
local function chunked(cmd, key, list)
  local n = #list
  for i = 1, n, PAGE do
    redis.call(cmd, key, unpack(list, i, math.min(i + PAGE - 1, n)))
  end
end

local function push(list, a, b)
  list[#list + 1] = a
  if b ~= nil then list[#list + 1] = b end
end

-- Every trace of a batch of tasks, whatever their state.
local function remove_tasks(ids)
  if #ids == 0 then return end
  for _, key in ipairs({K_DUE, K_LEASED}) do chunked('ZREM', key, ids) end
  for _, key in ipairs({K_QUEUE, K_ATTEMPTS, K_LDUE, K_OWNER, K_TOKEN}) do
    chunked('HDEL', key, ids)
  end
  local by_bucket = {}
  for _, id in ipairs(ids) do
    local b = bucket(id)
    local list = by_bucket[b]
    if list == nil then list = {}; by_bucket[b] = list end
    list[#list + 1] = id
  end
  for b, list in pairs(by_bucket) do chunked('HDEL', b, list) end
end

-- Leased tasks back to the free index at their own due time, lease and owner cleared.
local function free_leased(ids, keep_token)
  if #ids == 0 then return end
  local pairs_ = {}
  for _, id in ipairs(ids) do push(pairs_, redis.call('HGET', K_LDUE, id) or '0', id) end
  chunked('ZADD', K_DUE, pairs_)
  chunked('ZREM', K_LEASED, ids)
  chunked('HDEL', K_LDUE, ids)
  chunked('HDEL', K_OWNER, ids)
  if not keep_token then chunked('HDEL', K_TOKEN, ids) end
end

local function exists(id)
  return redis.call('ZSCORE', K_DUE, id) ~= false or redis.call('ZSCORE', K_LEASED, id) ~= false
end

local function wake(due, origin)
  if due ~= nil then redis.call('PUBLISH', K_WAKE, due .. ' ' .. origin) end
end

-- The queue set a filtered call asked for (ARGV[at] = count, names follow), or nil when
-- ARGV[at] is '' (no filter).
local function queue_set(at)
  if ARGV[at] == '' then return nil end
  local n = tonumber(ARGV[at])
  local set = {}
  for i = at + 1, at + n do set[ARGV[i]] = true end
  return set
end

local function queue_of(id)
  return redis.call('HGET', K_QUEUE, id) or 'default'
end

-- Walk a sorted set by rank from the lowest score (up to `max`, inclusive, when given),
-- calling visit(id, score) until it returns true.
local function walk(key, max, visit)
  local stop = max and redis.call('ZCOUNT', key, '-inf', max) or redis.call('ZCARD', key)
  for start = 0, stop - 1, PAGE do
    local page = redis.call('ZRANGE', key, start, math.min(start + PAGE, stop) - 1, 'WITHSCORES')
    for i = 1, #page, 2 do
      if visit(page[i], page[i + 1]) then return end
    end
  end
end

-- The earliest free due time or lease end among tasks of the `wanted` queues (nil: all),
-- as a string; false when there is none.
local function earliest(wanted)
  local found
  for _, key in ipairs({K_DUE, K_LEASED}) do
    local score
    if wanted == nil then
      score = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2]
    else
      walk(key, nil, function(id, s)
        if wanted[queue_of(id)] then score = s; return true end
      end)
    end
    if score ~= nil and (found == nil or tonumber(score) < tonumber(found)) then
      found = score
    end
  end
  return found or false
end

--- @script write_new bare
-- Tasks that replace nothing and no progress records: every run_now, and most
-- transactions. The hot path, so no prelude (defining its helpers costs more than storing
-- one task) and four arguments a task. The data hash doubles as the existence check: a
-- task's data is stored exactly while it is scheduled or running, and the first copy of an
-- id in a batch wins.
-- ARGV: origin, the earliest due time of the batch, then per task (id, queue, due, data).
-- Returns 1/0 per task (0: the id is taken).
local P = KEYS[1]
local function bucket(id)  -- the prelude's
  if #id == 17 and string.byte(id) == 255 then
    return string.format('%sd:%04x', P, string.byte(id, 16) % 64 * 256 + string.byte(id, 17))
  end
  return string.format('%sd:%04x', P, tonumber(string.sub(redis.sha1hex(id), 1, 4), 16) % 16384)
end
local results, zadd, queues = {}, {}, {}
for at = 3, #ARGV, 4 do
  local id = ARGV[at]
  if redis.call('HSETNX', bucket(id), id, ARGV[at + 3]) == 1 then
    results[#results + 1] = 1
    zadd[#zadd + 1] = ARGV[at + 2]
    zadd[#zadd + 1] = id
    if ARGV[at + 1] ~= 'default' then
      queues[#queues + 1] = id
      queues[#queues + 1] = ARGV[at + 1]
    end
  else
    results[#results + 1] = 0
  end
end
-- At most 1,000 values per call: Lua's C stack holds about 8,000 (see the prelude's chunked).
for i = 1, #zadd, 1000 do
  redis.call('ZADD', P .. 'due', unpack(zadd, i, math.min(i + 999, #zadd)))
end
for i = 1, #queues, 1000 do
  redis.call('HSET', P .. 'queue', unpack(queues, i, math.min(i + 999, #queues)))
end
-- The batch's earliest time, even when that task's id was taken: an early wake-up is harmless.
if #zadd > 0 then redis.call('PUBLISH', P .. 'wake', ARGV[2] .. ' ' .. ARGV[1]) end
return results

--- @script write
-- ARGV: origin, ntasks, then per task (id, queue, due, data, force), then per progress
-- record (id, json, expires or ''). Returns 1/0 per task.
-- A task's data is stored exactly while it is scheduled or running, so for an unforced
-- task HSETNX is both the existence check and the write (the first of a batch wins).
local origin, n = ARGV[1], tonumber(ARGV[2])
local results, zadd, queue_of_id, replaced, written = {}, {}, {}, {}, {}
local earliest, earliest_s
for i = 0, n - 1 do
  local at = 3 + i * 5
  local id, due = ARGV[at], ARGV[at + 2]
  local ok, overwrites = true, written[id]
  if ARGV[at + 4] ~= '1' then
    ok = redis.call('HSETNX', bucket(id), id, ARGV[at + 3]) == 1
  else
    if not overwrites and exists(id) then
      replaced[#replaced + 1] = id
      overwrites = true
    end
    redis.call('HSET', bucket(id), id, ARGV[at + 3])
  end
  if ok then
    results[#results + 1] = 1
    -- The last copy written decides queue and due; a default queue need only be written
    -- over an earlier copy's.
    if ARGV[at + 1] ~= 'default' or overwrites then queue_of_id[id] = ARGV[at + 1] end
    written[id] = true
    push(zadd, due, id)
    local d = tonumber(due)
    if earliest == nil or d < earliest then earliest, earliest_s = d, due end
  else
    results[#results + 1] = 0
  end
end
if #replaced > 0 then
  -- force: the replacement starts unleased, with zero attempts and no token, so the
  -- running copy's finish is refused.
  chunked('ZREM', K_LEASED, replaced)
  for _, key in ipairs({K_ATTEMPTS, K_LDUE, K_OWNER, K_TOKEN}) do
    chunked('HDEL', key, replaced)
  end
end
chunked('ZADD', K_DUE, zadd)
local queues, plain = {}, {}
for id, queue in pairs(queue_of_id) do
  if queue == 'default' then push(plain, id) else push(queues, id, queue) end
end
chunked('HDEL', K_QUEUE, plain)
chunked('HSET', K_QUEUE, queues)
for at = 3 + n * 5, #ARGV, 3 do
  local id, expires = ARGV[at], ARGV[at + 2]
  redis.call('HSET', K_PROGRESS, id, ARGV[at + 1])
  if expires == '' then
    redis.call('ZREM', K_PROGRESS_EXP, id)
  else
    redis.call('ZADD', K_PROGRESS_EXP, expires, id)
  end
end
wake(earliest_s, origin)
return results

--- @script claim
-- ARGV: now, limit or '', lease_until, owner, token, nqueues or '', queues...
-- Returns per claimed task: id, queue or nil, due, attempts or nil, data; then when to
-- claim again: now if the claim was full, else what next_due would answer (nil: never).
local now, limit, lease_until, owner, token = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4],
  ARGV[5]
local wanted = queue_set(6)
-- Lapsed leases first: their tasks compete by their own due time, and keep their token
-- so a late finish from the old owner still applies while nobody else holds them.
free_leased(redis.call('ZRANGEBYSCORE', K_LEASED, '-inf', now), true)
local picked
if wanted == nil then
  if limit then
    picked = redis.call('ZRANGEBYSCORE', K_DUE, '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit)
  else
    picked = redis.call('ZRANGEBYSCORE', K_DUE, '-inf', now, 'WITHSCORES')
  end
else
  picked = {}
  if limit ~= 0 and next(wanted) ~= nil then
    walk(K_DUE, now, function(id, due)
      if wanted[queue_of(id)] then push(picked, id, due) end
      return limit ~= nil and #picked >= 2 * limit
    end)
  end
end
local out, ids, leased, ldue, owners, tokens = {}, {}, {}, {}, {}, {}
for i = 1, #picked, 2 do
  local id, due = picked[i], picked[i + 1]
  push(ids, id)
  push(leased, lease_until, id)
  push(ldue, id, due)
  push(owners, id, owner)
  push(tokens, id, token)
  push(out, id, redis.call('HGET', K_QUEUE, id))
  push(out, due, redis.call('HGET', K_ATTEMPTS, id))
  push(out, redis.call('HGET', bucket(id), id))
end
if #ids > 0 then
  chunked('ZREM', K_DUE, ids)
  chunked('ZADD', K_LEASED, leased)
  chunked('HSET', K_LDUE, ldue)
  chunked('HSET', K_OWNER, owners)
  chunked('HSET', K_TOKEN, tokens)
end
if limit ~= nil and #ids >= limit then
  out[#out + 1] = now
else
  out[#out + 1] = earliest(wanted)
end
return out

--- @script renew
-- ARGV: lease_until, then (id, token) pairs. Returns the ids still held.
local lease_until = ARGV[1]
local held = {}
for i = 2, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('HGET', K_TOKEN, id) == ARGV[i + 1] then
    if redis.call('ZSCORE', K_LEASED, id) == false then
      -- The lease lapsed and a claim freed the task, but nobody took it: lease it again.
      local due = redis.call('ZSCORE', K_DUE, id)
      redis.call('ZREM', K_DUE, id)
      redis.call('HSET', K_LDUE, id, due)
    end
    redis.call('ZADD', K_LEASED, lease_until, id)
    push(held, id)
  end
end
return held

--- @script finish
-- ARGV: origin, then per outcome (kind, id, token, a, b, c): D = delete; F = fail with
-- a = record json, b = -failed_ms, c = expires or ''; R = reschedule with a = due,
-- b = attempts, c = data; L = release. Returns 1/0 per outcome, then the earliest due
-- time of the tasks it freed (or nil).
local origin = ARGV[1]
local results, done, gone, freed, zadd, att_set, att_del = {}, {}, {}, {}, {}, {}, {}
local earliest, earliest_s
for at = 2, #ARGV, 6 do
  local kind, id = ARGV[at], ARGV[at + 1]
  -- Every outcome that applies clears the token, so a second one for the id must fail.
  if done[id] or redis.call('HGET', K_TOKEN, id) ~= ARGV[at + 2] then
    results[#results + 1] = 0
  else
    done[id] = true
    results[#results + 1] = 1
    if kind == 'D' or kind == 'F' then
      push(gone, id)
      if kind == 'F' then
        redis.call('HSET', K_FAILED, id, ARGV[at + 3])
        redis.call('ZADD', K_FAILED_AT, ARGV[at + 4], id)
        if ARGV[at + 5] == '' then
          redis.call('ZREM', K_FAILED_EXP, id)
        else
          redis.call('ZADD', K_FAILED_EXP, ARGV[at + 5], id)
        end
      end
    else
      local due
      if kind == 'R' then
        due = ARGV[at + 3]
        if ARGV[at + 4] == '0' then push(att_del, id) else push(att_set, id, ARGV[at + 4]) end
        redis.call('HSET', bucket(id), id, ARGV[at + 5])
      elseif redis.call('ZSCORE', K_LEASED, id) then
        due = redis.call('HGET', K_LDUE, id)
      else
        due = redis.call('ZSCORE', K_DUE, id)
      end
      push(freed, id)
      push(zadd, due, id)
      if earliest == nil or tonumber(due) < earliest then earliest, earliest_s = tonumber(due), due end
    end
  end
end
remove_tasks(gone)
if #freed > 0 then
  chunked('ZREM', K_LEASED, freed)
  for _, key in ipairs({K_LDUE, K_OWNER, K_TOKEN}) do chunked('HDEL', key, freed) end
  chunked('ZADD', K_DUE, zadd)
  chunked('HDEL', K_ATTEMPTS, att_del)
  chunked('HSET', K_ATTEMPTS, att_set)
end
wake(earliest_s, origin)
results[#results + 1] = earliest_s or false
return results

--- @script release_worker
-- ARGV: worker id. Returns how many tasks were freed.
local all, ids = redis.call('HGETALL', K_OWNER), {}
for i = 1, #all, 2 do
  if all[i + 1] == ARGV[1] then push(ids, all[i]) end
end
free_leased(ids, false)
return #ids

--- @script next_due
-- ARGV: nqueues or '', queues... Returns the earliest free due time or lease end, or nil.
return earliest(queue_set(1))

--- @script get
-- ARGV: id. Returns {due, queue, attempts, data, lease_until, owner} (nil for absent
-- fields) or nil when there is no such task.
local id = ARGV[1]
local lease = redis.call('ZSCORE', K_LEASED, id)
local due = lease and redis.call('HGET', K_LDUE, id) or redis.call('ZSCORE', K_DUE, id)
if not due then return false end
return {due, redis.call('HGET', K_QUEUE, id), redis.call('HGET', K_ATTEMPTS, id),
        redis.call('HGET', bucket(id), id), lease, redis.call('HGET', K_OWNER, id)}

--- @script list
-- ARGV: filter ('1' or '0'), queue, limit or ''. Returns rows of 7 (id, queue, due,
-- attempts, data, lease_until, owner): the first `limit` free tasks in due order, with
-- any that tie with the last one, then every leased task that could rank among them.
-- The caller sorts by (due, id) and cuts: the sorted set orders ties by stored id bytes,
-- which is not id order (see the key form of hex ids).
local filter, queue, limit = ARGV[1] == '1', ARGV[2], tonumber(ARGV[3])
local out, count, last = {}, 0, nil
local function row(id, q, due, lease)
  push(out, id, q)
  push(out, due, redis.call('HGET', K_ATTEMPTS, id))
  push(out, redis.call('HGET', bucket(id), id), lease)
  push(out, redis.call('HGET', K_OWNER, id))
end
if limit ~= 0 then
  walk(K_DUE, nil, function(id, due)
    if limit ~= nil and count >= limit and tonumber(due) > last then return true end
    local q = queue_of(id)
    if not filter or q == queue then
      row(id, q, due, false)
      count, last = count + 1, tonumber(due)
    end
  end)
end
local full = limit ~= nil and count >= limit
local ldue = redis.call('HGETALL', K_LDUE)
for i = 1, #ldue, 2 do
  local id, due = ldue[i], ldue[i + 1]
  local q = queue_of(id)
  if (not filter or q == queue) and not (full and tonumber(due) > last) and limit ~= 0 then
    row(id, q, due, redis.call('ZSCORE', K_LEASED, id))
  end
end
return out

--- @script counts
-- ARGV: now. Returns {scheduled, running, retrying, failed}.
local now = ARGV[1]
local total = redis.call('ZCARD', K_DUE) + redis.call('ZCARD', K_LEASED)
local running = redis.call('ZRANGEBYSCORE', K_LEASED, '(' .. now, '+inf')
local retrying = redis.call('HLEN', K_ATTEMPTS)
for _, id in ipairs(running) do
  retrying = retrying - redis.call('HEXISTS', K_ATTEMPTS, id)
end
local failed = redis.call('HLEN', K_FAILED) - redis.call('ZCOUNT', K_FAILED_EXP, '-inf', now)
return {total - #running - retrying, #running, retrying, failed}

--- @script cancel
-- ARGV: id. Returns 1 if a task or a failed record was removed.
local id = ARGV[1]
local found = exists(id)
if found then remove_tasks({id}) end
if redis.call('HDEL', K_FAILED, id) == 1 then
  redis.call('ZREM', K_FAILED_AT, id)
  redis.call('ZREM', K_FAILED_EXP, id)
  found = true
end
return found and 1 or 0

--- @script requeue_failed
-- ARGV: id, due, data, now, origin. Returns 1 if the failed record became a task again.
local id, due, data, now, origin = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local record = redis.call('HGET', K_FAILED, id)
if not record then return 0 end
local expires = redis.call('ZSCORE', K_FAILED_EXP, id)
if (expires and tonumber(expires) <= tonumber(now)) or exists(id) then return 0 end
local queue = cjson.decode(record).queue
redis.call('HDEL', K_FAILED, id)
redis.call('ZREM', K_FAILED_AT, id)
redis.call('ZREM', K_FAILED_EXP, id)
redis.call('HSET', bucket(id), id, data)
if queue ~= 'default' then redis.call('HSET', K_QUEUE, id, queue) end
redis.call('ZADD', K_DUE, due, id)
wake(due, origin)
return 1

--- @script list_failed
-- ARGV: now, limit or ''. Returns (id, record json) pairs of unexpired records, latest
-- failure first (failed:at is scored by -failed_ms): the first `limit`, with any that
-- tie with the last one, for the caller to order ties by id and cut.
local now, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local out, last = {}, nil
if limit ~= 0 then
  walk(K_FAILED_AT, nil, function(id, score)
    if limit ~= nil and #out >= 2 * limit and tonumber(score) > last then return true end
    local expires = redis.call('ZSCORE', K_FAILED_EXP, id)
    if not expires or tonumber(expires) > now then
      push(out, id, redis.call('HGET', K_FAILED, id))
      last = tonumber(score)
    end
  end)
end
return out

--- @script purge
-- ARGV: now. Deletes expired failed and progress records; returns how many failed ones.
local dead = redis.call('ZRANGEBYSCORE', K_FAILED_EXP, '-inf', ARGV[1])
if #dead > 0 then
  chunked('HDEL', K_FAILED, dead)
  chunked('ZREM', K_FAILED_AT, dead)
  chunked('ZREM', K_FAILED_EXP, dead)
end
local stale = redis.call('ZRANGEBYSCORE', K_PROGRESS_EXP, '-inf', ARGV[1])
if #stale > 0 then
  chunked('HDEL', K_PROGRESS, stale)
  chunked('ZREM', K_PROGRESS_EXP, stale)
end
return #dead
