-- `create`. ARGV: base, mode, sid, user key, now (renewed_at), created_at, idle, absolute, token, metadata,
-- user blob, user version, credential fingerprint (hex, '' for none), authenticated_at ('' for none),
-- remember-me series id (hex, '' for none).
-- Returns 1, 0 when the session was dead on arrival, 2 when a newer cached user has other credentials
-- (nothing written in either case).
local sid, uk, now_s = ARGV[3], ARGV[4], ARGV[5]
local now = tonumber(now_s)
local exp_s = min_s(ARGV[7], ARGV[8])
local ttl = ttl_until(tonumber(exp_s), now)
if ttl <= 0 then return 0 end
local ukey = p .. 'u:' .. uk
local fp = ARGV[13]
-- read only, before any write: a sign-in checked against credentials a newer copy no longer has
if is_stale(ukey, ARGV[12]) and user_fp(ukey) ~= fp then return 2 end
local skey = p .. 's:' .. sid
-- first write: HSET (denyoom), so a Redis out of memory refuses the script before it writes anything
redis.call('HSET', skey, 'v', '1', 'uk', uk, 'ca', ARGV[6], 'ra', now_s, 'id', ARGV[7], 'ad', ARGV[8],
  'ct', ARGV[9], 'm', ARGV[10])
redis.call('HDEL', skey, 'pt', 'pu', 'af', 'aa', 'rs')
if fp ~= '' then redis.call('HSET', skey, 'af', fp) end
if ARGV[14] ~= '' then redis.call('HSET', skey, 'aa', ARGV[14]) end
if ARGV[15] ~= '' then redis.call('HSET', skey, 'rs', ARGV[15]) end
redis.call('PEXPIRE', skey, fmt(ttl))
redis.call('SET', p .. 't:' .. ARGV[9], sid, 'PX', fmt(ttl))
redis.call('ZREMRANGEBYSCORE', p .. 'i:' .. uk, '-inf', now_s)
redis.call('ZREMRANGEBYSCORE', p .. 'users', '-inf', now_s)
write_user(ukey, ARGV[11], ARGV[12], fp)
follow_session(sid, uk, exp_s, ttl)
near('u:' .. uk)
return 1
