-- `delete_user_sessions`. ARGV: prefix, user key, except sid (empty for none). Returns the count.
local uk, except = ARGV[2], ARGV[3]
local ikey = p .. 'i:' .. uk
local n = 0
for _, sid in ipairs(redis.call('ZRANGE', ikey, 0, -1)) do
  if sid ~= except then
    local skey = p .. 's:' .. sid
    if redis.call('EXISTS', skey) == 1 then
      local f = redis.pcall('HMGET', skey, 'ct', 'pt')
      if is_err(f) then f = {false, false} end
      drop_session(sid, uk, f[1], f[2])
      n = n + 1
    end
    redis.call('ZREM', ikey, sid)
  end
end
drop_user_if_unused(uk)
return n
