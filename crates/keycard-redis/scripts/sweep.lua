-- `sweep`, one batch. ARGV: base, mode, now, batch size. Returns {sessions, tokens, users, users processed}.
local now_s = ARGV[3]
local now = tonumber(now_s)
local uset = p .. 'users'
local dead = redis.call('ZRANGEBYSCORE', uset, '-inf', now_s, 'LIMIT', 0, tonumber(ARGV[4]))
local ns, nt, nu = 0, 0, 0
for _, uk in ipairs(dead) do
  local ikey = p .. 'i:' .. uk
  local keep, keep_exp = nil, nil
  for _, sid in ipairs(redis.call('ZRANGE', ikey, 0, -1)) do
    local skey = p .. 's:' .. sid
    local f = redis.pcall('HMGET', skey, 'id', 'ad', 'ct', 'pt')
    if is_err(f) then
      redis.call('DEL', skey)
      redis.call('ZREM', ikey, sid)
      ns = ns + 1
    elseif redis.call('EXISTS', skey) == 0 then
      redis.call('ZREM', ikey, sid)
    else
      local e = math.min(tonumber(f[1]) or 0, tonumber(f[2]) or 0)
      if now < e then
        if (not keep_exp) or e > keep_exp then keep, keep_exp = min_s(f[1], f[2]), e end
      else
        nt = nt + drop_session(sid, uk, f[3], f[4])
        ns = ns + 1
      end
    end
  end
  near('u:' .. uk)
  if keep then
    redis.call('ZADD', uset, keep, uk)
  else
    nu = nu + drop_user_if_unused(uk)
    redis.call('ZREM', uset, uk)
  end
end
return {ns, nt, nu, #dead}
