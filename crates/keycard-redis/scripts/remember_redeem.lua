-- `redeem`. KEYS: the series. ARGV: base, mode, series id, presented token hash, next token hash, now,
-- grace until, new expires_at, a retry cookie's alternate token hashes, comma-separated ('' for none; they
-- count as presented too). Returns {0} unknown (absent, or expired: then deleted), {-1, reason} undecodable, {1, series...}
-- rotated (the token that was current becomes the previous), {2, series...} grace (nothing written),
-- {3, user key} theft (the series deleted). `series...` is {id, v, uk, ca, ua, ea, ct, pt, pu, af}.
local id, tok, now_s, alt = ARGV[3], ARGV[4], ARGV[6], ARGV[9]
local now = tonumber(now_s)
local rkey = p .. 'r:' .. id
local s, bad = load_series(rkey)
if not s then
  if bad then return {-1, bad} end
  return {0}
end
local uk = s[2]
local set = p .. 'ri:' .. uk
local function reply(code)
  local out = {code}
  local r = series_reply(id, s)
  for i = 1, #r do out[i + 1] = r[i] end
  return out
end
-- the grace answer writes nothing; every other one writes the user's set too, which on a cluster must
-- be here, not on its way
if now >= tonumber(s[5]) then
  require_here(set)
  drop_series(id, uk)
  return {0}
end
local function presented(h)
  if not h then return false end -- a series never rotated has no previous token (HMGET's false)
  return h == tok or (alt ~= '' and string.find(',' .. alt .. ',', ',' .. h .. ',', 1, true) ~= nil)
end
if not presented(s[6]) then
  if presented(s[7]) and now < tonumber(s[8]) then return reply(2) end
  require_here(set)
  drop_series(id, uk)
  return {3, uk}
end
require_here(set)
local ea_s = ARGV[8]
local replaced = s[6]
s[4], s[5], s[6], s[7], s[8] = now_s, ea_s, ARGV[5], replaced, ARGV[7]
local ttl = ttl_until(tonumber(ea_s), now)
if ttl <= 0 then
  -- a policy with no lifetime: the rotated series is dead on arrival, so it is not written
  drop_series(id, uk)
  return reply(1)
end
-- first write: HSET (denyoom), so a Redis out of memory refuses the rotation before it writes anything
redis.call('HSET', rkey, 'ua', now_s, 'ea', ea_s, 'ct', ARGV[5], 'pt', replaced, 'pu', ARGV[7])
redis.call('PEXPIRE', rkey, fmt(ttl))
redis.call('ZADD', set, ea_s, id)
extend(set, ttl)
return reply(1)
