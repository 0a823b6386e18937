// What a run emits, before it is numbered and encoded. The agent run actor
// fills one `run_event` per step; the chat session stamps `chat_session_id`
// and `seq`, encodes it once and fans the bytes out (see event_frame).
#pragma once

#include <cstdint>
#include <string>

namespace parley {

enum class event_kind : uint8_t {
  chat_session_start, ///< conversation_id
  reasoning_start,    ///< agent, message, enable_reasoning
  stage_update,       ///< stage, status
  reasoning_step,     ///< step_type, content, iteration
  chunk,              ///< content, thinking, final_chunk
  reasoning_complete, ///< (nothing)
  done,               ///< message_id, content, thinking_text, usage
  cancelled,          ///< (nothing)
  error,              ///< error_code, message
};

/// The frame `type` for `kind`, e.g. "stage_update".
const char* to_string(event_kind kind) noexcept;

/// True for the events after which a run emits nothing more.
inline bool is_terminal(event_kind kind) noexcept {
  return kind == event_kind::done || kind == event_kind::cancelled
         || kind == event_kind::error;
}

struct token_usage {
  uint32_t prompt_tokens = 0;
  uint32_t completion_tokens = 0;
  uint32_t total_tokens = 0;
};

/// One event of a run. Which payload members are meaningful depends on `kind`
/// (listed on event_kind); the rest stay empty and are not encoded.
struct run_event {
  event_kind kind = event_kind::chunk;
  std::string chat_session_id;
  uint64_t seq = 0;
  /// When the event was made (Unix µs): set by whoever makes it, else when
  /// its run numbers it. Sent as `time_us`, so clients can measure delivery.
  int64_t time_us = 0;
  std::string conversation_id;
  std::string agent;
  std::string message;
  bool enable_reasoning = true;
  std::string stage;
  std::string status;
  std::string step_type;
  std::string content;
  uint32_t iteration = 0;
  bool thinking = false;
  bool final_chunk = false;
  std::string message_id;
  std::string thinking_text;
  token_usage usage;
  std::string error_code;
};

/// A numbered, encoded event as clients receive it: `json` is the complete
/// `{"type":...,"data":{...}}` text, shared by WebSocket, SSE and the store.
struct event_frame {
  std::string chat_session_id;
  uint64_t seq = 0;
  std::string type;
  std::string json;
  bool terminal = false;
};

template<class Inspector>
auto inspect(Inspector& f, token_usage& x) {
  return f(x.prompt_tokens, x.completion_tokens, x.total_tokens);
}

template<class Inspector>
auto inspect(Inspector& f, run_event& x) {
  return f(x.kind, x.chat_session_id, x.seq, x.time_us, x.conversation_id,
           x.agent, x.message, x.enable_reasoning, x.stage, x.status,
           x.step_type, x.content, x.iteration, x.thinking, x.final_chunk,
           x.message_id, x.thinking_text, x.usage, x.error_code);
}

template<class Inspector>
auto inspect(Inspector& f, event_frame& x) {
  return f(x.chat_session_id, x.seq, x.type, x.json, x.terminal);
}

} // namespace parley
