// Every response body the REST side sends is JSON, errors included:
// `{"error":{"code":..., "message":...}}` with the codes of error_code, so a
// client handles HTTP and WebSocket errors alike.
#pragma once

#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "protocol/error_code.hpp"

namespace parley {

using http_request
  = boost::beast::http::request<boost::beast::http::string_body>;
using http_response
  = boost::beast::http::response<boost::beast::http::string_body>;

/// What a response echoes of its request, kept apart so a reply that comes
/// back from an actor later does not need the whole request.
struct reply_to {
  unsigned version = 11;
  bool keep_alive = true;
};

inline reply_to reply_to_of(const http_request& req) {
  return {req.version(), req.keep_alive()};
}

/// A response (same version and keep-alive as the request) carrying `json`.
http_response json_response(reply_to to, boost::beast::http::status status,
                            std::string json);

/// A response without a body (204 No Content, for instance).
http_response empty_response(reply_to to, boost::beast::http::status status);

/// `{"error":{"code":...,"message":...}}`, plus `"field"` when one is named.
std::string error_json(error_code code, std::string_view message,
                       std::string_view field = {});

/// An error response with body `{"error":{"code":...,"message":...}}`, plus
/// `"field"` when one is named.
http_response error_response(reply_to to, boost::beast::http::status status,
                             error_code code, std::string_view message,
                             std::string_view field = {});

/// 405 with the `Allow` header listing what `req.target()` does accept.
http_response method_not_allowed(const http_request& req,
                                 std::string_view allow);

/// The status a failed actor request maps to: 503 when the actor (or the
/// store behind it) did not answer in time, 500 otherwise.
boost::beast::http::status status_for(error_code code) noexcept;

/// `"text"` as a JSON string literal, quotes included.
std::string json_string(std::string_view text);

} // namespace parley
