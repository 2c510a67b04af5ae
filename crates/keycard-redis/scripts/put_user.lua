-- `put_user`. ARGV: base, mode, user key, now, blob, version, credential fingerprint ('' for none).
-- Returns 0 not cached, 1 updated, 2 stale.
local uk, now_s = ARGV[3], ARGV[4]
local live, dead = find_live_session(uk, now_s, tonumber(now_s), false)
local ukey = p .. 'u:' .. uk
local out = 0
if live and redis.call('EXISTS', ukey) == 1 then out = write_user(ukey, ARGV[5], ARGV[6], ARGV[7]) end
prune_index(uk, now_s, dead)
if out == 1 then near('u:' .. uk) end
return out
