-- `redeem_code`, its first step. KEYS: the subject's set. ARGV: base, mode, purpose, subject, now.
-- Reserves one attempt of the newest live token with a code (HINCRBY al -1) and returns {1, token...}
-- as it is after the reservation (Rust compares the code, then consumes it or drops a spent one with
-- one_time_take.lua); {0} when there is none (nothing counted).
local purpose, subject, now = ARGV[3], ARGV[4], tonumber(ARGV[5])
local set = p .. 'os:' .. purpose .. ':' .. subject
local best, best_o
for _, t in ipairs(redis.call('SMEMBERS', set)) do
  local o = load_token(p .. 'o:' .. t)
  if not o then
    redis.call('SREM', set, t)
  elseif o[4] and token_live(o, now) then
    if not best_o or tonumber(o[5]) > tonumber(best_o[5]) or (o[5] == best_o[5] and t > best) then
      best, best_o = t, o
    end
  end
end
if not best then return {0} end
best_o[7] = fmt(redis.call('HINCRBY', p .. 'o:' .. best, 'al', -1))
local out = {1}
for _, v in ipairs(token_reply(best, best_o)) do out[#out + 1] = v end
return out
