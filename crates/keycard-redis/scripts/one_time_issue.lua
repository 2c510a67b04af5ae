-- `issue`. KEYS: the token, the subject's set. ARGV: base, mode, token hex, purpose, subject, code hash
-- hex ('' for none), created_at, expires_at, attempts, payload, now, supersede ('1' or '0'). Returns 1
-- (written) or 0 (already expired: nothing written). With supersede, the purpose's other tokens of the
-- subject are deleted first, in the same step.
local t, purpose, subject = ARGV[3], ARGV[4], ARGV[5]
local ea, now = tonumber(ARGV[8]), tonumber(ARGV[11])
local set = p .. 'os:' .. purpose .. ':' .. subject
if ARGV[12] == '1' then
  for _, other in ipairs(redis.call('SMEMBERS', set)) do redis.call('DEL', p .. 'o:' .. other) end
  redis.call('DEL', set)
end
local ttl = ttl_until(ea, now)
if ttl <= 0 then return 0 end
local okey = p .. 'o:' .. t
redis.call('HSET', okey, 'v', '1', 'pp', purpose, 'sj', subject, 'ca', ARGV[7], 'ea', ARGV[8],
  'al', ARGV[9], 'pl', ARGV[10])
if ARGV[6] ~= '' then redis.call('HSET', okey, 'c', ARGV[6]) end
redis.call('PEXPIRE', okey, fmt(ttl))
redis.call('SADD', set, t)
extend(set, ttl)
return 1
