-- `session`. KEYS: the session, the user record. ARGV: base, mode, session id (hex), user key. Returns
-- {session...} (as `sessions` returns each) when the session exists, is the user's and was signed in
-- with the cached user's credentials; {} otherwise (then {sid} alone when the key holds the wrong type).
-- Writes nothing: a liveness check; Rust checks the deadline.
local sid, uk = ARGV[3], ARGV[4]
local s, bad = load_session(p .. 's:' .. sid)
if not s then
  if bad then return {sid} end
  return {}
end
if s[2] ~= uk or not fp_matches(s, user_fp(p .. 'u:' .. uk)) then return {} end
return session_reply(sid, s)
