-- Helpers every script starts with (concatenated in front of it). ARGV[1] is always the key base: the
-- prefix and the hash tag of the user slot the script was routed to (`keycard:{a3}`). Every key a script
-- touches is named from it, so all of them share one Redis Cluster slot; KEYS lists those known up front.
-- ARGV[2] is the deployment: 'c' on a Redis Cluster, 's' on one Redis, followed when writes publish
-- invalidations: on one Redis by the channel (`skeycard:near`; see src/near.rs), on a cluster by the
-- suffix of the user's shard channel, which is ARGV[1] .. suffix (`cnear`: `SPUBLISH keycard:{a3}near`,
-- in the script's own slot; see src/near_cluster/).
local p = ARGV[1]
local CLUSTER = string.sub(ARGV[2], 1, 1) == 'c'
local NEAR = string.sub(ARGV[2], 2)
local MAX_TTL = 10000000000000
local SFIELDS = {'v', 'uk', 'ca', 'ra', 'id', 'ad', 'ct', 'pt', 'pu', 'm', 'af', 'aa', 'rs'}

local function fmt(n) return string.format('%d', n) end

-- remaining lifetime of a deadline on the cache's clock, capped
local function ttl_until(deadline, now)
  local t = deadline - now
  if t > MAX_TTL then t = MAX_TTL end
  return t
end

-- make key live at least ttl ms more; never shortens an expiry
local function extend(key, ttl)
  local cur = redis.call('PTTL', key)
  if cur == -1 or (cur >= 0 and cur < ttl) then
    redis.call('PEXPIRE', key, fmt(ttl))
  end
end

-- the smaller of two decimal strings, by value
local function min_s(a, b)
  if tonumber(b) < tonumber(a) then return b end
  return a
end

-- whether a pcall reply is a WRONGTYPE error (a corrupt record, treated as absent); any other error (a
-- key not on this cluster node while its slot moves, say) is raised: the call fails, nothing is decided
-- On a cluster, a record that a consistent view must hold but that is not on this node means the slot
-- is moving (a key already sent to, or not yet received from, the other node): fail the call before any
-- write rather than decide on half the records. On one Redis: nothing (absent is absent).
local function require_here(...)
  if not CLUSTER then return end
  for _, k in ipairs({...}) do
    if redis.call('EXISTS', k) == 0 then
      error({err = 'KEYCARDMOVING a record of this user is not on this node (its slot may be migrating); try again'})
    end
  end
end

-- Redis' own clock in ms: only on a cluster, only to tell a moving slot from a record Redis expired
local function redis_now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- an index entry (deadline `score`) whose session record is missing: the session ended, unless on a
-- cluster its deadline is still ahead on Redis' clock (then the record may be on its way: fail)
local function missing_session(skey, score)
  if CLUSTER and tonumber(score) > redis_now_ms() then require_here(skey) end
end

local function is_err(r)
  if type(r) == 'table' and r.err ~= nil then
    if string.find(r.err, 'WRONGTYPE', 1, true) == 1 then return true end
    error(r)
  end
  return false
end

-- a session hash, validated: fields table, or nil and a reason (nil reason: absent)
local function load_session(skey)
  local s = redis.pcall('HMGET', skey, unpack(SFIELDS))
  if is_err(s) then return nil, 'session key holds the wrong Redis type' end
  if not s[1] then
    if redis.call('EXISTS', skey) == 1 then return nil, 'session record has no format version' end
    return nil, nil
  end
  if s[1] ~= '1' then return nil, 'unknown session format version' end
  if not (s[2] and s[7] and s[10]) then return nil, 'session record is missing fields' end
  if not (tonumber(s[3]) and tonumber(s[4]) and tonumber(s[5]) and tonumber(s[6])) then
    return nil, 'session record has a malformed timestamp'
  end
  if s[8] and not tonumber(s[9]) then return nil, 'session record has a malformed grace deadline' end
  return s, nil
end

local function expires_at(s) return math.min(tonumber(s[5]), tonumber(s[6])) end

local function session_reply(sid, s)
  return {sid, s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11], s[12], s[13]}
end

-- the credential fingerprint (hex) of a user record, '' when none (or no record)
local function user_fp(ukey)
  local f = redis.pcall('HGET', ukey, 'af')
  if is_err(f) or not f then return '' end
  return f
end

-- whether a session (loaded fields) was signed in with the cached user's credentials
local function fp_matches(s, ufp) return (s[11] or '') == ufp end

-- remove a session with its tokens and index entry; returns the number of token keys deleted
local function drop_session(sid, uk, ct, pt)
  local n = 0
  redis.call('DEL', p .. 's:' .. sid)
  if ct then n = n + redis.call('DEL', p .. 't:' .. ct) end
  if pt then n = n + redis.call('DEL', p .. 't:' .. pt) end
  if uk then redis.call('ZREM', p .. 'i:' .. uk, sid) end
  return n
end

-- once a user has no session left, its record and index go too; returns 1 if a user record was deleted
local function drop_user_if_unused(uk)
  local ikey = p .. 'i:' .. uk
  if redis.call('ZCARD', ikey) == 0 then
    redis.call('DEL', ikey)
    redis.call('ZREM', p .. 'users', uk)
    return redis.call('DEL', p .. 'u:' .. uk)
  end
  return 0
end

-- versions travel as 20 zero-padded digits; compared in two exact halves
local function is_ver(v) return type(v) == 'string' and #v == 20 and not string.find(v, '%D') end
local function ver_lt(a, b)
  local ah, bh = tonumber(string.sub(a, 1, 10)), tonumber(string.sub(b, 1, 10))
  if ah ~= bh then return ah < bh end
  return tonumber(string.sub(a, 11)) < tonumber(string.sub(b, 11))
end

-- whether a copy of version ver would be kept out by the cached one (read only)
local function is_stale(ukey, ver)
  local cur = redis.pcall('HGET', ukey, 'ver')
  if is_err(cur) then return false end
  return ver ~= '' and cur and is_ver(cur) and ver_lt(ver, cur)
end

-- replace the cached user (blob, version, credential fingerprint fp: '' for none) unless the cached copy
-- is newer: 1 written, 2 kept (stale)
local function write_user(ukey, blob, ver, fp)
  local cur = redis.pcall('HGET', ukey, 'ver')
  if is_err(cur) then
    redis.call('DEL', ukey)
    cur = false
  end
  if ver ~= '' then
    if cur and is_ver(cur) and ver_lt(ver, cur) then return 2 end
    redis.call('HSET', ukey, 'd', blob, 'ver', ver)
  else
    redis.call('HSET', ukey, 'd', blob)
    if cur then redis.call('HDEL', ukey, 'ver') end
  end
  if fp ~= '' then redis.call('HSET', ukey, 'af', fp) else redis.call('HDEL', ukey, 'af') end
  return 1
end

-- record in the users set that uk has a session living until exp_s
local function bump_user(uk, exp_s, ttl)
  local uset = p .. 'users'
  local cur = redis.call('ZSCORE', uset, uk)
  if (not cur) or tonumber(cur) < tonumber(exp_s) then redis.call('ZADD', uset, exp_s, uk) end
  extend(uset, ttl)
end

-- after a session's expiry moved to exp_s: its index entry, index, user record and the users set follow
local function follow_session(sid, uk, exp_s, ttl)
  local ikey = p .. 'i:' .. uk
  redis.call('ZADD', ikey, exp_s, sid)
  extend(ikey, ttl)
  local ukey = p .. 'u:' .. uk
  if redis.call('EXISTS', ukey) == 1 then extend(ukey, ttl) end
  bump_user(uk, exp_s, ttl)
end

-- read-only: does the user have a session live at now (unexpired; with credentials_too, also signed in
-- with the cached user's credentials)? Also returns the dead or dangling index entries it met, for
-- prune_index (reading first keeps a denyoom write the first write of put_user)
local function find_live_session(uk, now_s, now, credentials_too)
  local ikey = p .. 'i:' .. uk
  local ufp = user_fp(p .. 'u:' .. uk)
  local dead = {}
  local offset = 0
  while true do
    local top = redis.call('ZREVRANGEBYSCORE', ikey, '+inf', '(' .. now_s, 'WITHSCORES', 'LIMIT', offset, 1)
    if #top == 0 then return false, dead end
    local s, bad = load_session(p .. 's:' .. top[1])
    if not s and not bad then missing_session(p .. 's:' .. top[1], top[2]) end
    if s and now < expires_at(s) and ((not credentials_too) or fp_matches(s, ufp)) then return true, dead end
    dead[#dead + 1] = top[1]
    offset = offset + 1
  end
end

local function prune_index(uk, now_s, dead)
  local ikey = p .. 'i:' .. uk
  redis.call('ZREMRANGEBYSCORE', ikey, '-inf', now_s)
  for _, sid in ipairs(dead) do redis.call('ZREM', ikey, sid) end
end

-- tell every node's near cache what this write changed ('u:' .. user key, 's:' .. session id hex, or
-- '*'), in the write's own atomic step, so every subscriber hears it before any later reply; on a
-- cluster on the shard channel of this script's slot (the tag's), which only that slot's master serves
local function near(msg)
  if NEAR == '' then return end
  if CLUSTER then
    redis.call('SPUBLISH', p .. NEAR, msg)
  else
    redis.call('PUBLISH', NEAR, msg)
  end
end
