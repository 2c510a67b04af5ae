-- `revoke`. KEYS: the subject's set. ARGV: base, mode, purpose, subject. Deletes every token of the set;
-- returns how many existed.
local set = p .. 'os:' .. ARGV[3] .. ':' .. ARGV[4]
local n = 0
for _, t in ipairs(redis.call('SMEMBERS', set)) do n = n + redis.call('DEL', p .. 'o:' .. t) end
redis.call('DEL', set)
return n
