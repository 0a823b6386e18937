// The answer of a finished run in one JSON object, for REST clients that
// wait (POST /api/chat/send) instead of streaming. Built from the very frames
// a streaming client gets, so both agree by construction.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/events.hpp"

namespace parley {

struct run_summary {
  /// "done", "cancelled" or "error": the type of the terminal frame, or
  /// empty when `frames` has none.
  std::string outcome;
  /// For "done": {conversation_id, message_id, content, thinking, usage,
  /// stages, duration_ms}.
  std::string json;
  /// For "error": the code and message of the error frame.
  std::string error_code;
  std::string error_message;
};

run_summary summarize_run(std::string_view conversation_id,
                          const std::vector<event_frame>& frames,
                          int64_t duration_ms);

} // namespace parley
