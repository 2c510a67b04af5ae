-- `find` and `redeem`. KEYS: the token. ARGV: base, mode, token hex, purpose, now, consume ('1' or '0').
-- Returns {1, token...} for a live token of that purpose (deleted first when consuming: one winner),
-- {0} for none, {-1, reason} undecodable.
local t, purpose, now = ARGV[3], ARGV[4], tonumber(ARGV[5])
local o, bad = load_token(p .. 'o:' .. t)
if not o then
  if bad then return {-1, bad} end
  return {0}
end
if o[2] ~= purpose or not token_live(o, now) then return {0} end
if ARGV[6] == '1' then drop_token(t, purpose, o[3]) end
local out = {1}
for _, v in ipairs(token_reply(t, o)) do out[#out + 1] = v end
return out
