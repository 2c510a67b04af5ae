-- `fetch`. ARGV: base, mode, token hex, now, due, successor hex, plan idle, grace until.
-- Returns {0} not found, {-1, reason, sid} undecodable, {-2, user key} user missing, {-4, sid} a token
-- whose session is missing (lost, or on a cluster not yet or no longer on this node), {-3, sid, user key}
-- ended here (signed in with other credentials than the cached user's), or
-- {1, use (1 current, 2 grace), renewed (0/1), session..., user blob}.
local tok, now_s = ARGV[3], ARGV[4]
local now = tonumber(now_s)
local tkey = p .. 't:' .. tok
local sid = redis.pcall('GET', tkey)
if is_err(sid) then return {-1, 'token key holds the wrong Redis type', false} end
if not sid then return {0} end
local skey = p .. 's:' .. sid
local s, bad = load_session(skey)
if not s then
  if bad then return {-1, bad, sid} end
  return {-4, sid}
end
local abs = tonumber(s[6])
if now >= expires_at(s) then return {0} end
local use
if s[7] == tok then
  use = 1
elseif s[8] == tok and now < tonumber(s[9]) then
  use = 2
else
  return {0}
end
local ukey = p .. 'u:' .. s[2]
local uf = redis.pcall('HMGET', ukey, 'd', 'af')
if is_err(uf) then return {-1, 'user key holds the wrong Redis type', sid} end
local u = uf[1]
if not u then return {-2, s[2]} end
if not fp_matches(s, uf[2] or '') then
  drop_session(sid, s[2], s[7], s[8])
  drop_user_if_unused(s[2])
  near('u:' .. s[2])
  return {-3, sid, s[2]}
end
local renewed = 0
if use == 1 and tonumber(s[4]) <= tonumber(ARGV[5]) then
  local idle_s = ARGV[7]
  if tonumber(idle_s) > abs then idle_s = s[6] end
  local ttl = ttl_until(tonumber(idle_s), now)
  if ttl > 0 then
    -- the renewal writes the index and the users bucket: both must be here, not on their way
    require_here(p .. 'i:' .. s[2], p .. 'users')
    local older = s[8]
    local gttl = ttl_until(math.min(tonumber(ARGV[8]), tonumber(idle_s)), now)
    -- first write: HSET (denyoom), so a Redis out of memory refuses the rotation before it writes anything
    if gttl > 0 then
      redis.call('HSET', skey, 'ra', now_s, 'id', idle_s, 'ct', ARGV[6], 'pt', tok, 'pu', ARGV[8])
      redis.call('PEXPIRE', tkey, fmt(gttl))
      s[8], s[9] = tok, ARGV[8]
    else
      redis.call('HSET', skey, 'ra', now_s, 'id', idle_s, 'ct', ARGV[6])
      redis.call('HDEL', skey, 'pt', 'pu')
      redis.call('DEL', tkey)
      s[8], s[9] = false, false
    end
    -- any older previous token dies now
    if older and older ~= tok then redis.call('DEL', p .. 't:' .. older) end
    redis.call('PEXPIRE', skey, fmt(ttl))
    redis.call('SET', p .. 't:' .. ARGV[6], sid, 'PX', fmt(ttl))
    follow_session(sid, s[2], idle_s, ttl)
    s[4], s[5], s[7] = now_s, idle_s, ARGV[6]
    renewed = 1
    near('s:' .. sid)
  end
end
local out = {1, use, renewed}
local r = session_reply(sid, s)
for i = 1, #r do out[i + 3] = r[i] end
out[3 + #r + 1] = u
return out
