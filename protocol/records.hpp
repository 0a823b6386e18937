// What the store keeps: conversations, their messages and runs. Times are
// milliseconds since the Unix epoch (UTC); the codec renders them ISO 8601.
#pragma once

#include <cstdint>
#include <string>

namespace parley {

struct conversation_record {
  std::string id;
  std::string agent_name;
  std::string title;
  std::string persona_id; ///< empty for a chat begun without a persona
  std::string owner;      ///< the user it belongs to (protocol/owner.hpp)
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct message_record {
  std::string id;
  std::string conversation_id;
  std::string role; ///< user | assistant | system
  std::string content;
  std::string thinking;
  uint32_t token_count = 0;
  std::string run_id; ///< the run that wrote or answered it
  std::string owner;  ///< the user it belongs to (protocol/owner.hpp)
  int64_t created_at_ms = 0;
};

enum class run_status : uint8_t {
  queued,
  running,
  complete,
  cancelled,
  failed,
  interrupted, ///< the process died while it ran
};

const char* to_string(run_status status) noexcept;

inline bool is_final(run_status status) noexcept {
  return status != run_status::queued && status != run_status::running;
}

struct run_record {
  std::string id;
  std::string conversation_id;
  std::string agent_name;
  std::string query;
  run_status status = run_status::queued;
  std::string result; ///< the final answer, or the partial one if cancelled
  std::string error;
  uint64_t last_seq = 0;
  std::string owner; ///< the user who started it (protocol/owner.hpp)
  /// The node (--node-id) that ran it: the one that ends it as interrupted
  /// if it dies with the run in flight.
  std::string node;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

template<class Inspector>
auto inspect(Inspector& f, conversation_record& x) {
  return f(x.id, x.agent_name, x.title, x.persona_id, x.owner, x.created_at_ms,
           x.updated_at_ms);
}

template<class Inspector>
auto inspect(Inspector& f, message_record& x) {
  return f(x.id, x.conversation_id, x.role, x.content, x.thinking,
           x.token_count, x.run_id, x.owner, x.created_at_ms);
}

template<class Inspector>
auto inspect(Inspector& f, run_record& x) {
  return f(x.id, x.conversation_id, x.agent_name, x.query, x.status, x.result,
           x.error, x.last_seq, x.owner, x.node, x.created_at_ms,
           x.updated_at_ms);
}

} // namespace parley
