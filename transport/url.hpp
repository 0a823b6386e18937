// Request targets, taken apart without Beast: the path, its query parameters
// (percent-decoded) and the names we accept in a path. Pure functions, so the
// routing rules can be tested without a socket.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley {

/// A request target split at the first `?`; neither part is decoded.
struct target_parts {
  std::string_view path;
  std::string_view query;
};

target_parts split_target(std::string_view target) noexcept;

/// `text` with `%XX` escapes decoded and, when `plus_is_space`, `+` read as a
/// space (form encoding, used in query strings). Nothing on a malformed
/// escape.
std::optional<std::string> percent_decode(std::string_view text,
                                          bool plus_is_space);

/// The raw (still encoded) value of the first `key` in `query`: nothing when
/// absent, an empty view for `key` or `key=`. Keys are compared undecoded;
/// ours are plain ASCII.
std::optional<std::string_view> query_param(std::string_view query,
                                            std::string_view key) noexcept;

/// True for a session id we accept in `/ws/chat/{id}`: [A-Za-z0-9_-]{1,128}.
/// Ids end up in log lines and storage keys, so anything else is refused.
bool is_valid_session_id(std::string_view id) noexcept;

/// `host:port` or `[v6-host]:port`, as given to `--listen`.
struct host_port {
  std::string host;
  uint16_t port = 0;
};

std::optional<host_port> parse_host_port(std::string_view text);

} // namespace parley
