-- `delete_user_series`. KEYS: the user's series set. ARGV: base, mode, user key, except series id ('' for
-- none). Returns how many series were deleted. Reads every entry first (on a cluster a series on its way
-- fails the call before any write), then deletes.
local uk, except = ARGV[3], ARGV[4]
local set = p .. 'ri:' .. uk
local entries = redis.call('ZRANGE', set, 0, -1, 'WITHSCORES')
local todo = {}
for i = 1, #entries, 2 do
  local id = entries[i]
  if id ~= except then
    local rkey = p .. 'r:' .. id
    if redis.call('EXISTS', rkey) == 0 then missing_session(rkey, entries[i + 1]) end
    todo[#todo + 1] = id
  end
end
local n = 0
for _, id in ipairs(todo) do
  n = n + redis.call('DEL', p .. 'r:' .. id)
  redis.call('ZREM', set, id)
end
return n
