// The JSON codec of the chat channel: the only code that knows RapidJSON.
// Decoding never throws and never recurses past `max_json_depth`; every
// failure comes back as a decode_error naming the code and the field.
#pragma once

#include <string>
#include <string_view>

#include "protocol/events.hpp"
#include "protocol/frames.hpp"
#include "protocol/records.hpp"

namespace parley {

/// Deeper documents are refused before parsing, so a hostile `[[[[...` cannot
/// exhaust the stack of RapidJSON's recursive parser.
constexpr int max_json_depth = 64;

/// True when `text` nests arrays/objects deeper than `limit` (strings aware).
bool exceeds_depth(std::string_view text, int limit) noexcept;

/// Decodes one client text frame.
client_frame decode_client_frame(std::string_view text);

/// Encodes a run event as `{"type":..., "data":{..., chat_session_id, seq}}`.
std::string encode_event(const run_event& ev);

std::string encode_connected(std::string_view type, std::string_view session_id,
                             std::string_view agent_name,
                             std::string_view message);
std::string encode_pong(std::string_view timestamp_json,
                        int64_t server_time_ms);
std::string encode_error(error_code code, std::string_view message,
                         std::string_view type = {},
                         std::string_view field = {});
std::string encode_error(const decode_error& err);
std::string encode_subscribed(std::string_view conversation_id,
                              std::string_view chat_session_id,
                              uint64_t last_seq, size_t replayed);
std::string encode_broadcast(std::string_view message, int64_t server_time_ms);

/// A run's status as REST clients poll it: {run_id, status,
/// conversation_id, created_at, updated_at, last_seq, result?, error?}.
std::string encode_run_status(const run_record& rec);

/// `frame` as one Server-Sent Event: `id: <seq>`, `event: <type>`,
/// `data: <the WebSocket frame's JSON>` and the blank line that ends it.
std::string encode_sse(const event_frame& frame);

/// A copy of `text` with JSON string escapes applied (no quotes added).
std::string json_escape(std::string_view text);

} // namespace parley
