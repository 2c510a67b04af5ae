-- `sessions`. ARGV: base, mode, user key, now. Returns one array per indexed session (session... or {sid}
-- alone when the key holds the wrong type); Rust checks liveness and order. Sessions signed in with other
-- credentials than the cached user's are ended here (pruned as they are read) and not returned.
local uk, now_s = ARGV[3], ARGV[4]
local ikey = p .. 'i:' .. uk
redis.call('ZREMRANGEBYSCORE', ikey, '-inf', now_s)
local ufp = user_fp(p .. 'u:' .. uk)
local out = {}
local ended = false
local entries = redis.call('ZRANGE', ikey, 0, -1, 'WITHSCORES')
-- on a cluster, every record on its way fails the call before any write
for i = 1, #entries, 2 do
  local skey = p .. 's:' .. entries[i]
  if redis.call('EXISTS', skey) == 0 then missing_session(skey, entries[i + 1]) end
end
for i = 1, #entries, 2 do
  local sid = entries[i]
  local skey = p .. 's:' .. sid
  local s = redis.pcall('HMGET', skey, unpack(SFIELDS))
  if is_err(s) then
    out[#out + 1] = {sid}
  elseif redis.call('EXISTS', skey) == 0 then
    redis.call('ZREM', ikey, sid)
  elseif not fp_matches(s, ufp) then
    drop_session(sid, uk, s[7], s[8])
    ended = true
  else
    out[#out + 1] = session_reply(sid, s)
  end
end
if ended then drop_user_if_unused(uk) end
return out
