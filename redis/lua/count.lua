-- halfopen fleet: add outcome counts to the store clock's current bucket and
-- read the buckets back, with the record.
-- KEYS[1]  the record hash ({halfopen:NAME}:record)
-- KEYS[2]  the outcome counts hash ({halfopen:NAME}:counts): fields
--          'BUCKET:s' and 'BUCKET:f', BUCKET = floor(store ms / bucket ms)
-- ARGV[1]  bucket width in ms
-- ARGV[2]  buckets in the window
-- ARGV[3]  successes to add
-- ARGV[4]  failures to add
-- Returns {seconds, microseconds, gen, record, config, field, count, ...}
-- (gen, record and config as read.lua returns them); fields of buckets
-- that left the window are deleted, and the hash expires one bucket after
-- the window.
local t = redis.call('TIME')
local width = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local bucket = math.floor((tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)) / width)
if ARGV[3] ~= '0' then
  redis.call('HINCRBY', KEYS[2], string.format('%d:s', bucket), ARGV[3])
end
if ARGV[4] ~= '0' then
  redis.call('HINCRBY', KEYS[2], string.format('%d:f', bucket), ARGV[4])
end
local out = {t[1], t[2], '', false, false}
local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'hash' then
  local r = redis.call('HMGET', KEYS[1], 'gen', 'record', 'config')
  out[3], out[4], out[5] = r[1] or '', r[2], r[3]
elseif kind ~= 'none' then
  out[3] = '!' .. kind
end
if redis.call('TYPE', KEYS[2]).ok ~= 'hash' then
  redis.call('DEL', KEYS[2])
  return out
end
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  local b = tonumber(string.match(all[i], '^(%d+):[sf]$'))
  if b == nil or b <= bucket - n or b > bucket then
    redis.call('HDEL', KEYS[2], all[i])
  else
    out[#out + 1] = all[i]
    out[#out + 1] = all[i + 1]
  end
end
redis.call('PEXPIRE', KEYS[2], width * (n + 1))
return out
