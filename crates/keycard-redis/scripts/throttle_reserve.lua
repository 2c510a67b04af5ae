-- Login throttle: count one attempt unless the window is full (keycard::throttle::ThrottleStore::reserve).
-- KEYS[1]: the counter, a hash {n = count, e = window end (ms)}.
-- ARGV[1]: max, ARGV[2]: window (ms), ARGV[3]: now (ms, the caller's clock).
-- Returns {1, 0} when counted, {0, ms left in the window} when full.
local max, window, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[1], 'n', 'e')
local n, e = tonumber(v[1]), tonumber(v[2])
if n and e and now < e then
  if n >= max then
    return {0, e - now}
  end
  redis.call('HINCRBY', KEYS[1], 'n', 1)
  return {1, 0}
end
redis.call('HSET', KEYS[1], 'n', 1, 'e', string.format('%d', now + window))
-- The key lives as long as its window on the caller's clock (plus a second), whatever Redis' clock says.
redis.call('PEXPIRE', KEYS[1], window + 1000)
return {1, 0}
