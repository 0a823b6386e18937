// The Lua scripts of the Redis store. Each runs atomically inside Redis:
// every check happens before the first write, so a script that answers an
// error has written nothing. All take their arguments in ARGV (no KEYS) with
// the key prefix first, and build key names themselves, so they are not
// Redis Cluster safe: one Redis (or a primary with replicas) only.
//
// A script answers an array: {"ok", ...} on success, or {code, message} /
// {code, message, field} where code is the wire name of an error_code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace parley {

enum class redis_script : uint8_t {
  /// prefix, kind, id, mode, json, created_at, updated_at, index, unique,
  /// refs -> {"ok", id, json, created_at, updated_at, index, unique}
  res_put,
  /// prefix, kind, id, cascades, restricts -> {"ok"}
  res_del,
  /// prefix, kind, field, value, start, stop -> {"ok", total, docs...}
  /// (each doc six elements, as res_put answers it)
  res_list,
  /// prefix, run_id, then seq, chat_session_id, type, json, terminal per
  /// event -> {"ok", added}
  ev_add,
  /// prefix, conversation_id -> {"ok", dropped}
  ev_drop,
  /// prefix, id, conversation_id, agent_name, query, status, result, error,
  /// last_seq, created_at, updated_at -> {"ok"}
  run_put,
};

constexpr size_t redis_script_count = 6;

/// The whole source of `s`: a shared prelude (key names, list encoding)
/// followed by the script's body.
std::string script_source(redis_script s);

} // namespace parley
