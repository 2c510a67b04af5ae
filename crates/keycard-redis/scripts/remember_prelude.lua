-- Remember-me helpers, after prelude.lua, in front of every remember_*.lua. A series is a hash
-- p..'r:'..id (v '1', uk user key, ca created_at, ua used_at, ea expires_at, ct current token hash hex,
-- pt previous token hash hex, pu its grace deadline, af credential fingerprint hex); a user's series ids
-- are the sorted set p..'ri:'..uk, scored by each series' expires_at. Both are in the user's slot.
local RFIELDS = {'v', 'uk', 'ca', 'ua', 'ea', 'ct', 'pt', 'pu', 'af'}

local function is_hash_hex(h) return #h == 64 and not string.find(h, '[^0-9a-f]') end

-- a series hash, validated: fields table, or nil and a reason (nil reason: absent)
local function load_series(rkey)
  local s = redis.pcall('HMGET', rkey, unpack(RFIELDS))
  if is_err(s) then return nil, 'series key holds the wrong Redis type' end
  if not s[1] then
    if redis.call('EXISTS', rkey) == 1 then return nil, 'series record has no format version' end
    return nil, nil
  end
  if s[1] ~= '1' then return nil, 'unknown series format version' end
  if not (s[2] and s[6]) then return nil, 'series record is missing fields' end
  if not (tonumber(s[3]) and tonumber(s[4]) and tonumber(s[5])) then
    return nil, 'series record has a malformed timestamp'
  end
  if not is_hash_hex(s[6]) or (s[7] and not is_hash_hex(s[7])) then
    return nil, 'series record has a malformed token hash'
  end
  if s[7] and not tonumber(s[8]) then return nil, 'series record has a malformed grace deadline' end
  return s, nil
end

local function series_reply(id, s)
  return {id, s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9]}
end

-- delete a series and its entry in its user's set
local function drop_series(id, uk)
  redis.call('DEL', p .. 'r:' .. id)
  redis.call('ZREM', p .. 'ri:' .. uk, id)
end
