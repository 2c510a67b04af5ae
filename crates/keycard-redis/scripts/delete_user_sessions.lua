-- `delete_user_sessions`. ARGV: base, mode, user key, except sid (empty for none). Returns the count.
-- Reads every entry first (on a cluster a record on its way fails the call before any write), then
-- deletes.
local uk, except = ARGV[3], ARGV[4]
local ikey = p .. 'i:' .. uk
local n = 0
local entries = redis.call('ZRANGE', ikey, 0, -1, 'WITHSCORES')
local todo = {}
for i = 1, #entries, 2 do
  local sid = entries[i]
  if sid ~= except then
    local skey = p .. 's:' .. sid
    if redis.call('EXISTS', skey) == 1 then
      local f = redis.pcall('HMGET', skey, 'ct', 'pt')
      if is_err(f) then f = {false, false} end
      if f[1] then require_here(p .. 't:' .. f[1]) end
      todo[#todo + 1] = {sid, f[1], f[2], true}
    else
      missing_session(skey, entries[i + 1])
      todo[#todo + 1] = {sid, false, false, false}
    end
  end
end
for _, t in ipairs(todo) do
  if t[4] then
    drop_session(t[1], uk, t[2], t[3])
    n = n + 1
  end
  redis.call('ZREM', ikey, t[1])
end
drop_user_if_unused(uk)
near('u:' .. uk)
return n
