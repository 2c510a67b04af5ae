-- One-time token helpers, after prelude.lua, in front of every one_time_*.lua. A token is a hash
-- p..'o:'..token hex (v '1', pp purpose, sj subject, c code hash hex or absent, ca created_at, ea
-- expires_at, al attempts left, pl payload bytes); a subject's tokens of one purpose are the set
-- p..'os:'..purpose..':'..subject. Both are in the subject's slot (its tag is in the token hash).
local OFIELDS = {'v', 'pp', 'sj', 'c', 'ca', 'ea', 'al', 'pl'}

-- a token hash, validated: fields table, or nil and a reason (nil reason: absent)
local function load_token(okey)
  local o = redis.pcall('HMGET', okey, unpack(OFIELDS))
  if is_err(o) then return nil, 'one-time key holds the wrong Redis type' end
  if not o[1] then return nil, nil end
  if o[1] ~= '1' then return nil, 'unknown one-time record format version' end
  if not (o[2] and o[3] and o[8]) then return nil, 'one-time record is missing fields' end
  if not (tonumber(o[5]) and tonumber(o[6]) and tonumber(o[7])) then
    return nil, 'one-time record has a malformed number'
  end
  return o, nil
end

local function token_live(o, now) return tonumber(o[6]) > now and tonumber(o[7]) > 0 end

-- {token hex, purpose, subject, code or false, ca, ea, al, payload}
local function token_reply(t, o)
  return {t, o[2], o[3], o[4] or false, o[5], o[6], o[7], o[8]}
end

local function drop_token(t, purpose, subject)
  redis.call('DEL', p .. 'o:' .. t)
  redis.call('SREM', p .. 'os:' .. purpose .. ':' .. subject, t)
end
