// Stable error codes: the `code` of every `error` frame and REST error body.
// Clients switch on these strings, so a value never changes meaning.
#pragma once

#include <cstdint>
#include <string_view>

namespace parley {

enum class error_code : uint8_t {
  bad_json,          ///< not JSON, not an object, or nested too deep
  unknown_type,      ///< `type` names no frame we know
  invalid_field,     ///< a field is missing, of the wrong type or out of range
  unsupported_frame, ///< a binary WebSocket frame
  not_found,         ///< the named run, conversation or resource is unknown
  conflict,          ///< the request contradicts the current state
  validation_failed, ///< well-formed JSON whose content breaks the schema
  unsupported_media_type, ///< a body that is not of the required type
  too_large,              ///< a body, header or frame over its limit
  gone,                   ///< history that existed but was dropped
  timeout,                ///< the answer took longer than the caller waits
  storage_unavailable,    ///< the store did not answer in time
  unauthorized,           ///< no credentials, or ones we do not accept
  forbidden,              ///< authenticated, but not allowed to do this
  rate_limited,           ///< over the caller's request or message budget
  too_many_runs,          ///< over the caller's concurrent run limit
  too_many_connections,   ///< over the connection limit of one address
  internal,               ///< a bug on our side; the message says where
};

/// The wire name of `code`, e.g. "bad_json".
std::string_view to_string(error_code code) noexcept;

} // namespace parley
