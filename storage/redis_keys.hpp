// The names of the Redis store's keys, as C++ builds them. The Lua scripts
// build the same names (the prelude in redis_scripts.cpp); docs/storage.md
// lists every key with its type, writer and expiry. Kinds and field names
// come from the schema and contain no ':'; ids and values may contain
// anything, which is why they come last.
#pragma once

#include <string>
#include <string_view>

namespace parley::redis_keys {

inline std::string join(std::string_view prefix, std::string_view a,
                        std::string_view b = {}) {
  std::string out;
  out.reserve(prefix.size() + a.size() + b.size());
  out += prefix;
  out += a;
  out += b;
  return out;
}

/// Hash: json, created_at, updated_at, index, unique (see redis_records.hpp).
inline std::string doc(std::string_view prefix, std::string_view kind,
                       std::string_view id) {
  return join(prefix, "res:", std::string{kind} + ':' + std::string{id});
}

/// Hash: the fields of a run_record (status by name).
inline std::string run(std::string_view prefix, std::string_view id) {
  return join(prefix, "run:", id);
}

/// Stream: one entry per event, entry id "{seq}-1".
inline std::string events(std::string_view prefix, std::string_view run_id) {
  return join(prefix, "ev:", run_id);
}

/// Set: ids of the runs whose status is queued or running.
inline std::string live_runs(std::string_view prefix) {
  return join(prefix, "live_runs");
}

/// Set: ids of the runs of one conversation.
inline std::string conversation_runs(std::string_view prefix,
                                     std::string_view conversation_id) {
  return join(prefix, "conv_runs:", conversation_id);
}

} // namespace parley::redis_keys
