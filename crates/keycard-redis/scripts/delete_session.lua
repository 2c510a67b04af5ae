-- `delete_session`. ARGV: prefix, sid. Returns 1 if the session existed.
local sid = ARGV[2]
local skey = p .. 's:' .. sid
if redis.call('EXISTS', skey) == 0 then return 0 end
local f = redis.pcall('HMGET', skey, 'uk', 'ct', 'pt')
if is_err(f) then
  redis.call('DEL', skey)
  return 1
end
drop_session(sid, f[1], f[2], f[3])
if f[1] then drop_user_if_unused(f[1]) end
return 1
