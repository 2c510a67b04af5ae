-- `series`. KEYS: the user's series set. ARGV: base, mode, user key, now. Returns one array per live
-- series ({id, v, uk, ca, ua, ea, ct, pt, pu, af}, or {id, reason} when it does not decode); Rust checks
-- and orders them. Prunes the set of ids whose deadline passed on the caller's clock or whose series is
-- gone (the hashes of the former are left to their Redis expiry).
local uk, now_s = ARGV[3], ARGV[4]
local now = tonumber(now_s)
local set = p .. 'ri:' .. uk
local entries = redis.call('ZRANGE', set, 0, -1, 'WITHSCORES')
-- on a cluster, a live series on its way fails the call before any write
for i = 1, #entries, 2 do
  local rkey = p .. 'r:' .. entries[i]
  if redis.call('EXISTS', rkey) == 0 then missing_session(rkey, entries[i + 1]) end
end
local out, gone = {}, {}
for i = 1, #entries, 2 do
  local id = entries[i]
  local s, bad = load_series(p .. 'r:' .. id)
  if s then
    if now < tonumber(s[5]) then out[#out + 1] = series_reply(id, s) end
  elseif bad then
    out[#out + 1] = {id, bad}
  else
    gone[#gone + 1] = id
  end
end
redis.call('ZREMRANGEBYSCORE', set, '-inf', now_s)
for _, id in ipairs(gone) do redis.call('ZREM', set, id) end
return out
