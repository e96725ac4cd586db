-- halfopen fleet: compare-and-set a breaker's record on its generation.
-- KEYS[1]  the record hash ({halfopen:NAME}:record)
-- KEYS[2]  the outcome counts hash ({halfopen:NAME}:counts)
-- ARGV[1]  the generation the new record was computed from, as read.lua
--          returned it ('' for none, '!TYPE' for a key of another type)
-- ARGV[2]  the new generation
-- ARGV[3]  the new record text
-- ARGV[4]  the writer's configuration text (kept if the record has none)
-- ARGV[5]  the channel to publish the change on
-- ARGV[6]  '1' to delete the outcome counts
-- Returns {1, seconds, microseconds} when written, else
-- {0, seconds, microseconds, gen, record, config} as read.lua would.
local t = redis.call('TIME')
local kind = redis.call('TYPE', KEYS[1]).ok
local cur
if kind == 'none' then
  cur = ''
elseif kind ~= 'hash' then
  cur = '!' .. kind
else
  cur = redis.call('HGET', KEYS[1], 'gen') or ''
end
if cur ~= ARGV[1] then
  if kind ~= 'hash' then
    return {0, t[1], t[2], cur, false, false}
  end
  local r = redis.call('HMGET', KEYS[1], 'gen', 'record', 'config')
  return {0, t[1], t[2], r[1] or '', r[2], r[3]}
end
if kind ~= 'hash' and kind ~= 'none' then
  redis.call('DEL', KEYS[1])
end
redis.call('HSET', KEYS[1], 'gen', ARGV[2], 'record', ARGV[3])
redis.call('HSETNX', KEYS[1], 'config', ARGV[4])
if ARGV[6] == '1' then
  redis.call('DEL', KEYS[2])
end
redis.call('PUBLISH', ARGV[5], ARGV[2])
return {1, t[1], t[2]}
