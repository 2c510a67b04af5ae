-- `delete_series`. KEYS: the series. ARGV: base, mode, series id. Returns {0} absent, {1, user key}
-- deleted, {-1, reason} undecodable (deleted all the same).
local id = ARGV[3]
local rkey = p .. 'r:' .. id
local s, bad = load_series(rkey)
if bad then
  redis.call('DEL', rkey)
  return {-1, bad}
end
if not s then return {0} end
require_here(p .. 'ri:' .. s[2])
drop_series(id, s[2])
return {1, s[2]}
