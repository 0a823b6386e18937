#include "transport/http_routes.hpp"

#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <caf/all.hpp>

#include "protocol/utf8.hpp"
#include "transport/actor_bridge.hpp"
#include "transport/json_body.hpp"
#include "transport/url.hpp"

namespace http = boost::beast::http;

namespace parley {

namespace {

constexpr std::string_view ws_prefix = "/ws/chat";

/// The handler for an actor's reply: `format(reply)` as a 200, or the error
/// as 503 (timeout) or 500.
template<class Reply, class Format>
auto reply_or_error(const http_request& req, respond_fn respond,
                    Format format) {
  return [to = reply_to_of(req), respond = std::move(respond),
          format](caf::expected<Reply> result) {
    if (result) {
      respond(json_response(to, http::status::ok, format(*result)));
      return;
    }
    auto code = to_error_code(result.error());
    respond(error_response(to, status_for(code), code,
                           "the connection registry did not answer: "
                             + caf::to_string(result.error())));
  };
}

http_response health(const http_request& req) {
  return json_response(reply_to_of(req), http::status::ok,
                       R"({"status":"ok"})");
}

std::string connections_json(const std::vector<std::string>& ids) {
  std::string json = R"({"active_connections":)";
  json += std::to_string(ids.size());
  json += R"(,"session_ids":[)";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0)
      json += ',';
    json += json_string(ids[i]);
  }
  json += "]}";
  return json;
}

route_result connections(transport_context& ctx, const http_request& req,
                         const boost::asio::any_io_executor& ex,
                         respond_fn respond) {
  using reply = std::vector<std::string>;
  ask_actor<reply>(
    ctx.sys, ctx.actor_lease, ex, ctx.deps.connections, ctx.cfg.actor_timeout,
    reply_or_error<reply>(req, std::move(respond), connections_json),
    list_atom::value);
  return response_pending{};
}

route_result broadcast(transport_context& ctx, const http_request& req,
                       const boost::asio::any_io_executor& ex,
                       respond_fn respond) {
  auto message = string_member(req.body(), "message");
  if (auto err = std::get_if<decode_error>(&message))
    return error_response(reply_to_of(req), http::status::bad_request,
                          err->code, err->message, err->field);
  auto format = [](uint64_t sent_to) {
    return R"({"sent_to":)" + std::to_string(sent_to) + "}";
  };
  // The text, not a frame: each ws_session encodes the broadcast frame.
  ask_actor<uint64_t>(
    ctx.sys, ctx.actor_lease, ex, ctx.deps.connections, ctx.cfg.actor_timeout,
    reply_or_error<uint64_t>(req, std::move(respond), format),
    broadcast_atom::value, std::move(std::get<std::string>(message)));
  return response_pending{};
}

http_response bad_field(const http_request& req, std::string_view field,
                        std::string_view message) {
  return error_response(reply_to_of(req), http::status::bad_request,
                        error_code::invalid_field, message, field);
}

http_response upgrade_required(const http_request& req) {
  auto res = error_response(reply_to_of(req), http::status::upgrade_required,
                            error_code::invalid_field,
                            "this endpoint speaks WebSocket only; send an "
                            "Upgrade: websocket request");
  res.set(http::field::upgrade, "websocket");
  res.set(http::field::connection, "Upgrade");
  return res;
}

/// `/ws/chat` or `/ws/chat/{id}`: the upgrade target, or why not.
route_result websocket_entry(transport_context& ctx, const http_request& req,
                             std::string_view path, std::string_view query) {
  auto rest = path.substr(ws_prefix.size());
  auto given_id = rest.empty() ? rest : rest.substr(1);
  if (!rest.empty() && !is_valid_session_id(given_id))
    return bad_field(req, "session_id",
                     "session id must match [A-Za-z0-9_-]{1,128}");
  std::optional<std::string> agent;
  if (auto raw = query_param(query, "agent_name")) {
    agent = percent_decode(*raw, true);
    // Decoded bytes are echoed in text frames, which must be UTF-8.
    if (!agent || !is_valid_utf8(*agent))
      return bad_field(req, "agent_name",
                       "agent_name is not valid percent-encoded UTF-8");
    if (agent->size() > 128)
      return bad_field(req, "agent_name", "agent_name is over 128 bytes");
  }
  if (req.method() != http::verb::get)
    return method_not_allowed(req, "GET");
  if (!boost::beast::websocket::is_upgrade(req))
    return upgrade_required(req);
  if (!agent || agent->empty())
    agent = ctx.deps.options.default_agent;
  auto session_id = rest.empty() ? ctx.ids.next() : std::string{given_id};
  return ws_target{std::move(session_id), std::move(*agent)};
}

bool is_ws_path(std::string_view path) {
  return path.substr(0, ws_prefix.size()) == ws_prefix
         && (path.size() == ws_prefix.size() || path[ws_prefix.size()] == '/');
}

} // namespace

route_result route_request(transport_context& ctx, const http_request& req,
                           const boost::asio::any_io_executor& ex,
                           respond_fn respond) {
  auto target = std::string_view{req.target().data(), req.target().size()};
  auto [path, query] = split_target(target);
  auto method = req.method();
  if (is_ws_path(path))
    return websocket_entry(ctx, req, path, query);
  if (path == "/health")
    return method == http::verb::get ? health(req)
                                     : method_not_allowed(req, "GET");
  if (path == "/connections")
    return method == http::verb::get
             ? connections(ctx, req, ex, std::move(respond))
             : method_not_allowed(req, "GET");
  if (path == "/broadcast")
    return method == http::verb::post
             ? broadcast(ctx, req, ex, std::move(respond))
             : method_not_allowed(req, "POST");
  // Echo the path only when it is short, readable text: the body is JSON.
  std::string message = "no route for this path";
  if (path.size() <= 256 && is_valid_utf8(path)) {
    message = "no route for ";
    message += path;
  }
  return error_response(reply_to_of(req), http::status::not_found,
                        error_code::not_found, message);
}

} // namespace parley
