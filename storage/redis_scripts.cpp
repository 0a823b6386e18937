#include "storage/redis_scripts.hpp"

namespace parley {

namespace {

// Key names (keep in step with redis_keys.hpp) and the list encoding of
// redis_records.hpp: each string as "{length}:{bytes}," (a netstring).
constexpr const char* prelude = R"lua(
local P = ARGV[1]
local function doc_key(kind, id) return P .. 'res:' .. kind .. ':' .. id end
local function order_key(kind) return P .. 'order:' .. kind end
local function counter_key(kind) return P .. 'ctr:' .. kind end
local function idx_key(kind, f, v) return P .. 'idx:' .. kind .. ':' .. f .. ':' .. v end
local function uniq_key(kind, f, v) return P .. 'uniq:' .. kind .. ':' .. f .. ':' .. v end
local function run_key(id) return P .. 'run:' .. id end
local function ev_key(id) return P .. 'ev:' .. id end
local function conv_runs_key(cid) return P .. 'conv_runs:' .. cid end
local live_key = P .. 'live_runs'

local function split(s)
  local out, i = {}, 1
  while i <= #s do
    local colon = string.find(s, ':', i, true)
    local n = tonumber(string.sub(s, i, colon - 1))
    out[#out + 1] = string.sub(s, colon + 1, colon + n)
    i = colon + n + 2
  end
  return out
end

-- Pairs {f1, v1, f2, v2, ...}: is (f, v) one of them?
local function has_pair(xs, f, v)
  for i = 1, #xs, 2 do
    if xs[i] == f and xs[i + 1] == v then return true end
  end
  return false
end

-- The six strings of a stored object: id, json, created_at, updated_at,
-- index, unique; nil if there is none.
local function read_doc(kind, id)
  local f = redis.call('HMGET', doc_key(kind, id), 'json', 'created_at',
                       'updated_at', 'index', 'unique')
  if not f[1] then return nil end
  return {id, f[1], f[2] or '0', f[3] or '0', f[4] or '', f[5] or ''}
end

local function next_score(kind) return redis.call('INCR', counter_key(kind)) end

local function is_final(status)
  return status ~= 'queued' and status ~= 'running'
end
)lua";

// Checks everything (mode, references, unique fields) before writing
// anything. O(fields + references).
constexpr const char* res_put = R"lua(
local kind, id, mode = ARGV[2], ARGV[3], ARGV[4]
local old = read_doc(kind, id)
if old and mode == 'ensure' then return {'ok', unpack(old)} end
if old and mode == 'create' then
  return {'conflict', kind .. ' ' .. id .. ' already exists', 'id'}
end
if not old and mode == 'replace' then
  return {'not_found', 'no ' .. kind .. ' ' .. id}
end
local refs = split(ARGV[10])
for i = 1, #refs, 3 do
  if redis.call('EXISTS', doc_key(refs[i + 1], refs[i + 2])) == 0 then
    return {'validation_failed', "field '" .. refs[i] .. "' names "
            .. refs[i + 1] .. ' ' .. refs[i + 2] .. ', which does not exist',
            refs[i]}
  end
end
local index, unique = split(ARGV[8]), split(ARGV[9])
for i = 1, #unique, 2 do
  local holder = redis.call('GET', uniq_key(kind, unique[i], unique[i + 1]))
  if holder and holder ~= id then
    return {'conflict', 'another of the ' .. kind .. ' already has '
            .. unique[i] .. " '" .. unique[i + 1] .. "'", unique[i]}
  end
end
if old then
  -- An index entry the object keeps keeps its place; a new one goes last.
  local old_index, old_unique = split(old[5]), split(old[6])
  for i = 1, #old_index, 2 do
    if not has_pair(index, old_index[i], old_index[i + 1]) then
      redis.call('ZREM', idx_key(kind, old_index[i], old_index[i + 1]), id)
    end
  end
  for i = 1, #index, 2 do
    if not has_pair(old_index, index[i], index[i + 1]) then
      redis.call('ZADD', idx_key(kind, index[i], index[i + 1]),
                 next_score(kind), id)
    end
  end
  for i = 1, #old_unique, 2 do
    redis.call('DEL', uniq_key(kind, old_unique[i], old_unique[i + 1]))
  end
else
  redis.call('ZADD', order_key(kind), next_score(kind), id)
  for i = 1, #index, 2 do
    redis.call('ZADD', idx_key(kind, index[i], index[i + 1]),
               next_score(kind), id)
  end
end
for i = 1, #unique, 2 do
  redis.call('SET', uniq_key(kind, unique[i], unique[i + 1]), id)
end
redis.call('HSET', doc_key(kind, id), 'json', ARGV[5], 'created_at', ARGV[6],
           'updated_at', ARGV[7], 'index', ARGV[8], 'unique', ARGV[9])
return {'ok', id, ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]}
)lua";

// Restricts first, then cascades (one level, as in the memory store), then
// the object. O(dependants): a conversation with 10,000 messages keeps
// Redis busy for a few milliseconds.
constexpr const char* res_del = R"lua(
local function erase(kind, id)
  local doc = read_doc(kind, id)
  if not doc then return end
  local index, unique = split(doc[5]), split(doc[6])
  for i = 1, #index, 2 do
    redis.call('ZREM', idx_key(kind, index[i], index[i + 1]), id)
  end
  for i = 1, #unique, 2 do
    redis.call('DEL', uniq_key(kind, unique[i], unique[i + 1]))
  end
  redis.call('ZREM', order_key(kind), id)
  redis.call('DEL', doc_key(kind, id))
end
local kind, id = ARGV[2], ARGV[3]
if redis.call('EXISTS', doc_key(kind, id)) == 0 then
  return {'not_found', 'no ' .. kind .. ' ' .. id}
end
local restricts = split(ARGV[5])
for i = 1, #restricts, 2 do
  local first = redis.call('ZRANGE', idx_key(restricts[i], restricts[i + 1], id), 0, 0)
  if #first > 0 then
    return {'conflict', kind .. ' ' .. id .. ' is still referenced by '
            .. restricts[i] .. ' ' .. first[1] .. ' (' .. restricts[i + 1]
            .. '); delete or change that first'}
  end
end
local cascades = split(ARGV[4])
for i = 1, #cascades, 2 do
  local children = redis.call('ZRANGE', idx_key(cascades[i], cascades[i + 1], id), 0, -1)
  for _, child in ipairs(children) do erase(cascades[i], child) end
end
erase(kind, id)
return {'ok'}
)lua";

// One consistent page: ZCARD, ZRANGE and one HMGET per item.
// O(log n + page size).
constexpr const char* res_list = R"lua(
local kind, field = ARGV[2], ARGV[3]
local key = field == '' and order_key(kind) or idx_key(kind, field, ARGV[4])
local out = {'ok', redis.call('ZCARD', key)}
if ARGV[5] ~= '' then
  for _, id in ipairs(redis.call('ZRANGE', key, ARGV[5], ARGV[6])) do
    local doc = read_doc(kind, id)
    if doc then
      for _, x in ipairs(doc) do out[#out + 1] = x end
    end
  end
end
return out
)lua";

// One XADD per event with the explicit id "{seq}-1". XADD refuses an id
// not above the newest entry: then the seq is either stored already (a
// repeat: the first copy stays) or late (older than the newest, missing);
// late events are rare (a batch lost and re-sent out of order) and make the
// script rebuild the stream in seq order, O(length).
constexpr const char* ev_add = R"lua(
local key = ev_key(ARGV[2])
if #ARGV == 2 then
  -- An empty batch still makes the log exist, as in the memory store: an
  -- empty stream whose last id is 0-1.
  if redis.call('EXISTS', key) == 0 then
    redis.call('XADD', key, 'MAXLEN', '0', '0-1', 'type', '')
  end
  return {'ok', 0}
end
local function fields(b)
  return {'chat_session_id', ARGV[b + 2], 'type', ARGV[b + 3],
          'json', ARGV[b + 4], 'terminal', ARGV[b + 5]}
end
local function seq_less(x, y)
  if #x[1] ~= #y[1] then return #x[1] < #y[1] end
  return x[1] < y[1]
end
local function rebuild(late)
  local ttl = redis.call('PTTL', key)
  local entries = redis.call('XRANGE', key, '-', '+')
  local have, added = {}, 0
  for _, e in ipairs(entries) do have[e[1]] = true end
  for _, b in ipairs(late) do
    local id = ARGV[b + 1] .. '-1'
    if not have[id] then
      have[id] = true
      entries[#entries + 1] = {id, fields(b)}
      added = added + 1
    end
  end
  table.sort(entries, seq_less)
  redis.call('DEL', key)
  for _, e in ipairs(entries) do redis.call('XADD', key, e[1], unpack(e[2])) end
  if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
  return added
end
local added, late = 0, {}
for b = 2, #ARGV - 5, 5 do
  local id = ARGV[b + 1] .. '-1'
  local r = redis.pcall('XADD', key, id, unpack(fields(b)))
  if type(r) == 'table' and r.err then
    if not string.find(r.err, 'equal or smaller', 1, true) then return r end
    if #redis.call('XRANGE', key, id, id) == 0 then late[#late + 1] = b end
  else
    added = added + 1
  end
end
if #late > 0 then added = added + rebuild(late) end
return {'ok', added}
)lua";

// O(runs of the conversation).
constexpr const char* ev_drop = R"lua(
local cid, dropped = ARGV[2], 0
for _, id in ipairs(redis.call('SMEMBERS', conv_runs_key(cid))) do
  local rec = redis.call('HMGET', run_key(id), 'conversation_id', 'status')
  if rec[1] == cid and is_final(rec[2]) then
    dropped = dropped + redis.call('DEL', ev_key(id))
  end
end
return {'ok', dropped}
)lua";

// Keeps the two run indexes (runs of a conversation, live runs) in step
// with the record.
constexpr const char* run_put = R"lua(
local id, cid, status = ARGV[2], ARGV[3], ARGV[6]
local old = redis.call('HGET', run_key(id), 'conversation_id')
if old and old ~= cid then redis.call('SREM', conv_runs_key(old), id) end
redis.call('HSET', run_key(id), 'conversation_id', cid, 'agent_name', ARGV[4],
           'query', ARGV[5], 'status', status, 'result', ARGV[7],
           'error', ARGV[8], 'last_seq', ARGV[9], 'created_at', ARGV[10],
           'updated_at', ARGV[11], 'owner', ARGV[12], 'node', ARGV[13])
redis.call('SADD', conv_runs_key(cid), id)
if is_final(status) then
  redis.call('SREM', live_key, id)
else
  redis.call('SADD', live_key, id)
end
return {'ok'}
)lua";

} // namespace

std::string script_source(redis_script s) {
  std::string out = prelude;
  switch (s) {
    case redis_script::res_put: out += res_put; break;
    case redis_script::res_del: out += res_del; break;
    case redis_script::res_list: out += res_list; break;
    case redis_script::ev_add: out += ev_add; break;
    case redis_script::ev_drop: out += ev_drop; break;
    case redis_script::run_put: out += run_put; break;
  }
  return out;
}

} // namespace parley
