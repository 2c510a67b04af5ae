-- `delete_by_token`. ARGV: prefix, token hex, now. Returns {session id, user key} of the deleted session,
-- or nil.
local tok, now = ARGV[2], tonumber(ARGV[3])
local tkey = p .. 't:' .. tok
local sid = redis.pcall('GET', tkey)
if is_err(sid) then
  redis.call('DEL', tkey)
  return false
end
if not sid then return false end
local s = load_session(p .. 's:' .. sid)
if not s then
  redis.call('DEL', tkey)
  return false
end
if now >= expires_at(s) then return false end
if not (s[7] == tok or (s[8] == tok and now < tonumber(s[9]))) then return false end
drop_session(sid, s[2], s[7], s[8])
redis.call('ZREMRANGEBYSCORE', p .. 'i:' .. s[2], '-inf', ARGV[3])
drop_user_if_unused(s[2])
return {sid, s[2]}
