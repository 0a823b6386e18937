// What every REST handler does the same way: check the content type and
// ids, read query numbers, ask an actor and turn its reply or error into a
// response. One copy here instead of one per route.
#pragma once

#include <charconv>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http.hpp>
#include <caf/all.hpp>

#include "protocol/ids.hpp"
#include "protocol/schema.hpp"
#include "transport/actor_bridge.hpp"
#include "transport/rest_route.hpp"
#include "transport/transport_context.hpp"
#include "transport/url.hpp"

namespace parley {

inline http_response json_reply(const rest_call& call,
                                boost::beast::http::status status,
                                std::string json) {
  return json_response(reply_to_of(call.req), status, std::move(json));
}

inline http_response error_reply(const rest_call& call, error_code code,
                                 std::string_view message,
                                 std::string_view field = {}) {
  return error_response(reply_to_of(call.req), status_for(code), code, message,
                        field);
}

/// The answer for an actor's error: its code's status, message and field.
inline http_response error_response(reply_to to, const caf::error& err) {
  auto code = to_error_code(err);
  auto res = error_response(to, status_for(code), code, error_message(err),
                            error_field(err));
  if (auto seconds = retry_after_of(err); seconds > 0)
    res.set(boost::beast::http::field::retry_after, std::to_string(seconds));
  return res;
}

/// 415 unless the request says its body is JSON.
inline std::optional<http_response> require_json(const rest_call& call) {
  auto type = call.req[boost::beast::http::field::content_type];
  std::string_view media{type.data(), type.size()};
  media = media.substr(0, media.find(';'));
  while (!media.empty() && media.back() == ' ')
    media.remove_suffix(1);
  if (media == "application/json")
    return std::nullopt;
  return error_reply(call, error_code::unsupported_media_type,
                     "the body must be JSON: send Content-Type: "
                     "application/json");
}

/// 400 unless path parameter `i` is a UUID: ids are checked before any
/// lookup, so nothing else ever reaches the store.
inline std::optional<http_response>
require_uuid(const rest_call& call, size_t i, std::string_view name) {
  if (is_uuid(call.params.at(i)))
    return std::nullopt;
  return error_reply(call, error_code::invalid_field,
                     std::string{name} + " must be a UUID", name);
}

/// The decoded query parameter `key`, if present and readable.
inline std::optional<std::string> query_text(const rest_call& call,
                                             std::string_view key) {
  auto raw = query_param(call.query, key);
  if (!raw)
    return std::nullopt;
  return percent_decode(*raw, true);
}

/// Query parameter `key` as a number in [lo, hi], `fallback` when absent,
/// or the 422 saying why not.
inline std::variant<uint64_t, http_response>
query_number(const rest_call& call, std::string_view key, uint64_t fallback,
             uint64_t lo, uint64_t hi) {
  auto raw = query_param(call.query, key);
  if (!raw)
    return fallback;
  uint64_t value = 0;
  auto [end, ec]
    = std::from_chars(raw->data(), raw->data() + raw->size(), value);
  if (ec != std::errc{} || end != raw->data() + raw->size() || value < lo
      || value > hi)
    return error_reply(call, error_code::validation_failed,
                       std::string{key} + " must be a whole number from "
                         + std::to_string(lo) + " to " + std::to_string(hi),
                       key);
  return value;
}

/// Asks `dest` and answers with `on_reply(reply_to, reply)` or the error.
/// The body checked against `schema`, or the 400/415/422 that says why not.
inline std::variant<validated_object, http_response>
checked_body(rest_call& call, const object_schema& schema) {
  if (auto res = require_json(call))
    return std::move(*res);
  auto result = validate(schema, call.req.body());
  if (auto err = std::get_if<decode_error>(&result))
    return error_reply(call, err->code, err->message, err->field);
  return std::get<validated_object>(std::move(result));
}

template<class Reply, class Handle, class OnReply, class... Ts>
route_result ask(rest_call& call, const Handle& dest, OnReply on_reply,
                 Ts&&... xs) {
  ask_actor<Reply>(
    call.ctx.sys, call.ctx.actor_lease, call.ex, dest,
    call.ctx.cfg.actor_timeout,
    [to = reply_to_of(call.req), respond = call.respond,
     on_reply = std::move(on_reply)](caf::expected<Reply> result) mutable {
      if (result) {
        respond(on_reply(to, *result));
        return;
      }
      respond(error_response(to, result.error()));
    },
    std::forward<Ts>(xs)...);
  return response_pending{};
}

} // namespace parley
