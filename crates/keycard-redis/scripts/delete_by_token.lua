-- `delete_by_token`. ARGV: base, mode, token hex, now. Returns {session id, user key} of the deleted session,
-- or nil.
local tok, now = ARGV[3], tonumber(ARGV[4])
local tkey = p .. 't:' .. tok
local sid = redis.pcall('GET', tkey)
if is_err(sid) then
  redis.call('DEL', tkey)
  return false
end
if not sid then return false end
local s = load_session(p .. 's:' .. sid)
if not s then
  -- a live token without its session: lost on one Redis; on a cluster possibly not here yet
  require_here(p .. 's:' .. sid)
  redis.call('DEL', tkey)
  return false
end
if now >= expires_at(s) then return false end
if not (s[7] == tok or (s[8] == tok and now < tonumber(s[9]))) then return false end
-- a live session's index and user record are here unless its slot is moving
require_here(p .. 'i:' .. s[2], p .. 'u:' .. s[2])
drop_session(sid, s[2], s[7], s[8])
redis.call('ZREMRANGEBYSCORE', p .. 'i:' .. s[2], '-inf', ARGV[4])
drop_user_if_unused(s[2])
near('s:' .. sid)
return {sid, s[2]}
