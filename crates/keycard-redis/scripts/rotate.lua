-- `rotate`. ARGV: base, mode, sid, new token, now, idle, has user (0/1), user blob, user version, user
-- credential fingerprint ('' for none), a new proof of password (authenticated_at, '' to keep). Returns
-- {0} gone (or ended here: signed in with other credentials
-- than the cached user's), {-1, reason} undecodable, or {1, session...}.
local sid, now_s = ARGV[3], ARGV[5]
local now = tonumber(now_s)
local skey = p .. 's:' .. sid
local s, bad = load_session(skey)
if not s then
  if bad then return {-1, bad} end
  return {0}
end
if now >= expires_at(s) then return {0} end
local ukey = p .. 'u:' .. s[2]
-- a missing user record would read as other credentials and end the session: on a cluster, fail instead
require_here(ukey, p .. 'i:' .. s[2], p .. 'users', p .. 't:' .. s[7])
if not fp_matches(s, user_fp(ukey)) then
  -- already ended by a credential change: it does not get to adopt the new credentials
  drop_session(sid, s[2], s[7], s[8])
  drop_user_if_unused(s[2])
  near('u:' .. s[2])
  return {0}
end
local idle_s = ARGV[6]
if tonumber(idle_s) > tonumber(s[6]) then idle_s = s[6] end
local ttl = ttl_until(tonumber(idle_s), now)
if ttl <= 0 then return {0} end
-- first write: HSET (denyoom), so a Redis out of memory refuses the script before it writes anything
redis.call('HSET', skey, 'ra', now_s, 'id', idle_s, 'ct', ARGV[4])
redis.call('HDEL', skey, 'pt', 'pu')
if ARGV[11] ~= '' then
  redis.call('HSET', skey, 'aa', ARGV[11])
  s[12] = ARGV[11]
end
redis.call('DEL', p .. 't:' .. s[7])
if s[8] then redis.call('DEL', p .. 't:' .. s[8]) end
redis.call('PEXPIRE', skey, fmt(ttl))
redis.call('SET', p .. 't:' .. ARGV[4], sid, 'PX', fmt(ttl))
if ARGV[7] == '1' and write_user(ukey, ARGV[8], ARGV[9], ARGV[10]) == 1 then
  -- the session that changes the credentials takes them; every other session ends
  if ARGV[10] ~= '' then redis.call('HSET', skey, 'af', ARGV[10]) else redis.call('HDEL', skey, 'af') end
  if ARGV[10] ~= '' then s[11] = ARGV[10] else s[11] = false end
end
follow_session(sid, s[2], idle_s, ttl)
if ARGV[7] == '1' then near('u:' .. s[2]) else near('s:' .. sid) end
s[4], s[5], s[7], s[8], s[9] = now_s, idle_s, ARGV[4], false, false
local out = {1}
local r = session_reply(sid, s)
for i = 1, #r do out[i + 1] = r[i] end
return out
