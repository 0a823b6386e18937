#include "protocol/error_code.hpp"
#include "protocol/events.hpp"
#include "protocol/records.hpp"

namespace parley {

std::string_view to_string(error_code code) noexcept {
  switch (code) {
    case error_code::bad_json: return "bad_json";
    case error_code::unknown_type: return "unknown_type";
    case error_code::invalid_field: return "invalid_field";
    case error_code::unsupported_frame: return "unsupported_frame";
    case error_code::not_found: return "not_found";
    case error_code::conflict: return "conflict";
    case error_code::validation_failed: return "validation_failed";
    case error_code::unsupported_media_type: return "unsupported_media_type";
    case error_code::too_large: return "too_large";
    case error_code::gone: return "gone";
    case error_code::timeout: return "timeout";
    case error_code::storage_unavailable: return "storage_unavailable";
    case error_code::unauthorized: return "unauthorized";
    case error_code::forbidden: return "forbidden";
    case error_code::rate_limited: return "rate_limited";
    case error_code::too_many_runs: return "too_many_runs";
    case error_code::too_many_connections: return "too_many_connections";
    case error_code::internal: return "internal";
  }
  return "internal";
}

const char* to_string(event_kind kind) noexcept {
  switch (kind) {
    case event_kind::chat_session_start: return "chat_session_start";
    case event_kind::reasoning_start: return "reasoning_start";
    case event_kind::stage_update: return "stage_update";
    case event_kind::reasoning_step: return "reasoning_step";
    case event_kind::chunk: return "chunk";
    case event_kind::reasoning_complete: return "reasoning_complete";
    case event_kind::done: return "done";
    case event_kind::cancelled: return "cancelled";
    case event_kind::error: return "error";
  }
  return "error";
}

const char* to_string(run_status status) noexcept {
  switch (status) {
    case run_status::queued: return "queued";
    case run_status::running: return "running";
    case run_status::complete: return "complete";
    case run_status::cancelled: return "cancelled";
    case run_status::failed: return "failed";
    case run_status::interrupted: return "interrupted";
  }
  return "failed";
}

} // namespace parley
