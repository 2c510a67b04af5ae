-- Login throttle: give one counted attempt back (keycard::throttle::ThrottleStore::refund).
-- KEYS[1]: the counter. ARGV[1]: now (ms). Returns 1 when a count was given back, 0 otherwise.
local now = tonumber(ARGV[1])
local v = redis.call('HMGET', KEYS[1], 'n', 'e')
local n, e = tonumber(v[1]), tonumber(v[2])
if n and e and now < e and n > 0 then
  redis.call('HINCRBY', KEYS[1], 'n', -1)
  return 1
end
return 0
