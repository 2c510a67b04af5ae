-- `create_series`. KEYS: the series, the user's series set. ARGV: base, mode, series id, user key,
-- created_at, used_at (the caller's now), expires_at, current token hash, credential fingerprint (hex, ''
-- for none). Returns 1, or 0 when the series was dead on arrival (nothing written).
local id, uk, now_s, ea_s = ARGV[3], ARGV[4], ARGV[6], ARGV[7]
local ttl = ttl_until(tonumber(ea_s), tonumber(now_s))
if ttl <= 0 then return 0 end
local rkey = p .. 'r:' .. id
-- first write: HSET (denyoom), so a Redis out of memory refuses the script before it writes anything
redis.call('HSET', rkey, 'v', '1', 'uk', uk, 'ca', ARGV[5], 'ua', now_s, 'ea', ea_s, 'ct', ARGV[8])
redis.call('HDEL', rkey, 'pt', 'pu', 'af')
if ARGV[9] ~= '' then redis.call('HSET', rkey, 'af', ARGV[9]) end
redis.call('PEXPIRE', rkey, fmt(ttl))
local set = p .. 'ri:' .. uk
redis.call('ZREMRANGEBYSCORE', set, '-inf', now_s)
redis.call('ZADD', set, ea_s, id)
extend(set, ttl)
return 1
