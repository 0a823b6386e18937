#include "transport/http_responses.hpp"

#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>

#include "protocol/codec.hpp"

namespace http = boost::beast::http;

namespace parley {

http_response json_response(reply_to to, http::status status,
                            std::string json) {
  http_response res{status, to.version};
  res.set(http::field::server, "parleyd");
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(to.keep_alive);
  res.body() = std::move(json);
  res.prepare_payload();
  return res;
}

http_response empty_response(reply_to to, http::status status) {
  http_response res{status, to.version};
  res.set(http::field::server, "parleyd");
  res.keep_alive(to.keep_alive);
  return res;
}

std::string error_json(error_code code, std::string_view message,
                       std::string_view field) {
  std::string body = R"({"error":{"code":)";
  body += json_string(to_string(code));
  body += R"(,"message":)";
  body += json_string(message);
  if (!field.empty()) {
    body += R"(,"field":)";
    body += json_string(field);
  }
  body += "}}";
  return body;
}

http_response error_response(reply_to to, http::status status, error_code code,
                             std::string_view message, std::string_view field) {
  return json_response(to, status, error_json(code, message, field));
}

http_response method_not_allowed(const http_request& req,
                                 std::string_view allow) {
  std::string message = "method ";
  message
    += std::string_view{req.method_string().data(), req.method_string().size()};
  message += " is not allowed here; use ";
  message += allow;
  auto res = error_response(reply_to_of(req), http::status::method_not_allowed,
                            error_code::invalid_field, message);
  res.set(http::field::allow, allow);
  return res;
}

http::status status_for(error_code code) noexcept {
  switch (code) {
    case error_code::storage_unavailable:
      return http::status::service_unavailable;
    case error_code::not_found: return http::status::not_found;
    case error_code::conflict: return http::status::conflict;
    case error_code::validation_failed:
      return http::status::unprocessable_entity;
    case error_code::unsupported_media_type:
      return http::status::unsupported_media_type;
    case error_code::too_large: return http::status::payload_too_large;
    case error_code::gone: return http::status::gone;
    case error_code::timeout: return http::status::gateway_timeout;
    case error_code::unauthorized: return http::status::unauthorized;
    case error_code::forbidden: return http::status::forbidden;
    case error_code::rate_limited:
    case error_code::too_many_runs:
    case error_code::too_many_connections:
      return http::status::too_many_requests;
    case error_code::bad_json:
    case error_code::unknown_type:
    case error_code::invalid_field:
    case error_code::unsupported_frame: return http::status::bad_request;
    default: return http::status::internal_server_error;
  }
}

std::string json_string(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  out += json_escape(text);
  out += '"';
  return out;
}

} // namespace parley
