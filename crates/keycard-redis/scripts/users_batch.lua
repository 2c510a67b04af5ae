-- `users`, step 2. ARGV: base, mode, now, user keys... Returns {user key, blob} for users with a live session.
local now_s = ARGV[3]
local now = tonumber(now_s)
local out = {}
for i = 4, #ARGV do
  local uk = ARGV[i]
  local live, dead = find_live_session(uk, now_s, now, true)
  prune_index(uk, now_s, dead)
  if live then
    local d = redis.pcall('HGET', p .. 'u:' .. uk, 'd')
    if is_err(d) then d = false end
    out[#out + 1] = {uk, d}
  else
    redis.call('ZREM', p .. 'users', uk)
  end
end
return out
