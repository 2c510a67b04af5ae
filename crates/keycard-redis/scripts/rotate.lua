-- `rotate`. ARGV: prefix, sid, new token, now, idle, has user (0/1), user blob, user version, user
-- credential fingerprint ('' for none), a new proof of password (authenticated_at, '' to keep). Returns {0} gone (or ended here: signed in with other credentials
-- than the cached user's), {-1, reason} undecodable, or {1, session...}.
local sid, now_s = ARGV[2], ARGV[4]
local now = tonumber(now_s)
local skey = p .. 's:' .. sid
local s, bad = load_session(skey)
if not s then
  if bad then return {-1, bad} end
  return {0}
end
if now >= expires_at(s) then return {0} end
local ukey = p .. 'u:' .. s[2]
if not fp_matches(s, user_fp(ukey)) then
  -- already ended by a credential change: it does not get to adopt the new credentials
  drop_session(sid, s[2], s[7], s[8])
  drop_user_if_unused(s[2])
  return {0}
end
local idle_s = ARGV[5]
if tonumber(idle_s) > tonumber(s[6]) then idle_s = s[6] end
local ttl = ttl_until(tonumber(idle_s), now)
if ttl <= 0 then return {0} end
-- first write: HSET (denyoom), so a Redis out of memory refuses the script before it writes anything
redis.call('HSET', skey, 'ra', now_s, 'id', idle_s, 'ct', ARGV[3])
redis.call('HDEL', skey, 'pt', 'pu')
if ARGV[10] ~= '' then
  redis.call('HSET', skey, 'aa', ARGV[10])
  s[12] = ARGV[10]
end
redis.call('DEL', p .. 't:' .. s[7])
if s[8] then redis.call('DEL', p .. 't:' .. s[8]) end
redis.call('PEXPIRE', skey, fmt(ttl))
redis.call('SET', p .. 't:' .. ARGV[3], sid, 'PX', fmt(ttl))
if ARGV[6] == '1' and write_user(ukey, ARGV[7], ARGV[8], ARGV[9]) == 1 then
  -- the session that changes the credentials takes them; every other session ends
  if ARGV[9] ~= '' then redis.call('HSET', skey, 'af', ARGV[9]) else redis.call('HDEL', skey, 'af') end
  if ARGV[9] ~= '' then s[11] = ARGV[9] else s[11] = false end
end
follow_session(sid, s[2], idle_s, ttl)
s[4], s[5], s[7], s[8], s[9] = now_s, idle_s, ARGV[3], false, false
local out = {1}
local r = session_reply(sid, s)
for i = 1, #r do out[i + 1] = r[i] end
return out
