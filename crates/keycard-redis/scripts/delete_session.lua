-- `delete_session`. ARGV: base, mode, sid. Returns the deleted session's user key ('' when its record had
-- none), or false when there was no session.
local sid = ARGV[3]
local skey = p .. 's:' .. sid
if redis.call('EXISTS', skey) == 0 then return false end
local f = redis.pcall('HMGET', skey, 'uk', 'ct', 'pt')
if is_err(f) then
  redis.call('DEL', skey)
  return ''
end
-- the current token lives exactly as long as its session, unless the slot is moving
if f[2] then require_here(p .. 't:' .. f[2]) end
drop_session(sid, f[1], f[2], f[3])
if f[1] then drop_user_if_unused(f[1]) end
near('s:' .. sid)
return f[1] or ''
