-- `users`, step 1. ARGV: base, mode, now. Prunes the users set and returns its members.
local uset = p .. 'users'
redis.call('ZREMRANGEBYSCORE', uset, '-inf', ARGV[3])
return redis.call('ZRANGE', uset, 0, -1)
