-- `redeem_code`, its second step. KEYS: the token. ARGV: base, mode, token hex, only_spent ('1': delete
-- only when no attempt is left). Returns {1, token...} when it deleted the token, {0} otherwise (another
-- right guess took it first).
local t = ARGV[3]
local o = load_token(p .. 'o:' .. t)
if not o then return {0} end
if ARGV[4] == '1' and tonumber(o[7]) > 0 then return {0} end
drop_token(t, o[2], o[3])
local out = {1}
for _, v in ipairs(token_reply(t, o)) do out[#out + 1] = v end
return out
