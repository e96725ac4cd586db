-- halfopen fleet: read a breaker's record with the store's clock.
-- KEYS[1]  the record hash ({halfopen:NAME}:record)
-- Returns {seconds, microseconds, gen, record, config}; gen is '' when the
-- record does not exist, and '!TYPE' when the key holds another type.
local t = redis.call('TIME')
local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'none' then
  return {t[1], t[2], '', false, false}
elseif kind ~= 'hash' then
  return {t[1], t[2], '!' .. kind, false, false}
end
local r = redis.call('HMGET', KEYS[1], 'gen', 'record', 'config')
return {t[1], t[2], r[1] or '', r[2], r[3]}
