#include "transport/http_routes.hpp"

#include <fstream>
#include <iterator>

#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <caf/all.hpp>

#include "protocol/utf8.hpp"
#include "transport/access.hpp"
#include "transport/cors.hpp"
#include "transport/json_body.hpp"
#include "transport/rest_support.hpp"
#include "transport/url.hpp"

namespace http = boost::beast::http;

namespace parley {

namespace {

constexpr std::string_view ws_prefix = "/ws/chat";

/// Liveness, with the store's state beside it: always 200 while the
/// process serves (a load balancer asks /ready for the store).
route_result health(rest_call& call) {
  auto& ctx = call.ctx;
  ask_actor<caf::ok_atom>(
    ctx.sys, ctx.actor_lease, call.ex, ctx.deps.store,
    std::chrono::milliseconds{1000},
    [to = reply_to_of(call.req),
     respond = call.respond](caf::expected<caf::ok_atom> up) {
      respond(json_response(to, http::status::ok,
                            up ? R"({"status":"ok","storage":"up"})"
                               : R"({"status":"ok","storage":"down"})"));
    },
    health_atom::value);
  return response_pending{};
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

route_result connections(rest_call& call) {
  return ask<std::vector<std::string>>(
    call, call.ctx.deps.connections,
    [](reply_to to, std::vector<std::string>& ids) {
      return json_response(to, http::status::ok, connections_json(ids));
    },
    list_atom::value);
}

route_result broadcast(rest_call& call) {
  auto message = string_member(call.req.body(), "message");
  if (auto err = std::get_if<decode_error>(&message))
    return error_reply(call, err->code, err->message, err->field);
  // The text, not a frame: each ws_session encodes the broadcast frame.
  return ask<uint64_t>(
    call, call.ctx.deps.connections,
    [](reply_to to, uint64_t sent_to) {
      return json_response(to, http::status::ok,
                           R"({"sent_to":)" + std::to_string(sent_to) + "}");
    },
    broadcast_atom::value, std::move(std::get<std::string>(message)));
}

/// Ready to serve: the store answers. Load balancers stop sending traffic
/// while it does not (/health stays 200: the process is alive).
route_result ready(rest_call& call) {
  return ask<caf::ok_atom>(
    call, call.ctx.deps.store,
    [](reply_to to, caf::ok_atom) {
      return json_response(to, http::status::ok,
                           R"({"status":"ready","storage":"up"})");
    },
    health_atom::value);
}

route_result openapi(rest_call& call) {
  return json_reply(call, http::status::ok, call.ctx.openapi);
}

/// The Swagger UI page; its scripts come from the swagger-ui-dist package
/// (installed by scripts/setup), served from --docs-dir.
route_result docs_page(rest_call& call) {
  if (call.ctx.cfg.docs_dir.empty())
    return error_reply(call, error_code::not_found,
                       "the API browser needs the swagger-ui-dist package: "
                       "run scripts/setup, or pass --docs-dir; the document "
                       "itself is at /openapi.json");
  http_response res{http::status::ok, call.req.version()};
  res.set(http::field::server, "parleyd");
  res.set(http::field::content_type, "text/html; charset=utf-8");
  res.keep_alive(call.req.keep_alive());
  res.body() = R"(<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Parley API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/initializer.js"></script>
</body>
</html>
)";
  res.prepare_payload();
  return res;
}

route_result docs_file(rest_call& call) {
  struct asset {
    const char* name;
    const char* type;
  };
  static const asset assets[] = {
    {"swagger-ui.css", "text/css"},
    {"swagger-ui-bundle.js", "text/javascript"},
    {"swagger-ui-standalone-preset.js", "text/javascript"},
    {"favicon-32x32.png", "image/png"},
    {"favicon-16x16.png", "image/png"},
  };
  auto& name = call.params[0];
  http_response res{http::status::ok, call.req.version()};
  res.set(http::field::server, "parleyd");
  res.keep_alive(call.req.keep_alive());
  if (name == "initializer.js") {
    res.set(http::field::content_type, "text/javascript");
    res.body() = "window.ui = SwaggerUIBundle({url: '/openapi.json', "
                 "dom_id: '#swagger-ui', presets: [SwaggerUIBundle.presets."
                 "apis, SwaggerUIStandalonePreset], layout: "
                 "'StandaloneLayout'});\n";
    res.prepare_payload();
    return res;
  }
  for (auto& a : assets) {
    if (name != a.name)
      continue;
    // Read per request: /docs is for people, not a hot path.
    std::ifstream in{call.ctx.cfg.docs_dir + "/" + a.name, std::ios::binary};
    if (!in)
      break;
    res.set(http::field::content_type, a.type);
    res.set(http::field::cache_control, "public, max-age=3600");
    res.body().assign(std::istreambuf_iterator<char>{in}, {});
    res.prepare_payload();
    return res;
  }
  return error_reply(call, error_code::not_found,
                     "no file " + name + " in the API browser");
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
  return ws_target{std::move(session_id), std::move(*agent), {}};
}

/// The table's entry for /ws/chat (route_request reaches websocket_entry
/// before the table; the entry documents it and routes alike).
route_result websocket_route(rest_call& call) {
  auto [path, query] = split_target(
    std::string_view{call.req.target().data(), call.req.target().size()});
  return websocket_entry(call.ctx, call.req, path, query);
}

bool is_ws_path(std::string_view path) {
  return path.substr(0, ws_prefix.size()) == ws_prefix
         && (path.size() == ws_prefix.size() || path[ws_prefix.size()] == '/');
}

std::vector<rest_route> system_routes() {
  using v = http::verb;
  return {
    {v::get,
     "/health",
     "system",
     "Liveness",
     "",
     {},
     {{200, "alive", "Health"}},
     health,
     route_access::open},
    {v::get,
     "/ready",
     "system",
     "Readiness: 200 while the store answers, 503 while it does not",
     "",
     {},
     {{200, "ready", "Ready"}, {503, "the store is unavailable", "Error"}},
     ready,
     route_access::open},
    {v::get,
     "/connections",
     "system",
     "The open WebSocket sessions",
     "",
     {},
     {{200, "their ids", "Connections"}},
     connections,
     route_access::admin},
    {v::post,
     "/broadcast",
     "system",
     "Send a `broadcast` frame to every WebSocket session",
     "BroadcastRequest",
     {},
     {{200, "how many sessions it went to", "BroadcastReply"},
      {400, "no message", "Error"}},
     broadcast,
     route_access::admin},
    {v::get,
     "/ws/chat",
     "websocket",
     "Open a WebSocket chat session (frames: docs/protocol.md)",
     "",
     {{"agent_name", "query", "string", "the agent chats use by default"}},
     {{101, "switching to WebSocket", ""},
      {426, "not a WebSocket upgrade", "Error"}},
     websocket_route},
    {v::get,
     "/ws/chat/{session_id}",
     "websocket",
     "Open (or resume) the WebSocket chat session with this id",
     "",
     {{"session_id", "path", "string", "[A-Za-z0-9_-]{1,128}"},
      {"agent_name", "query", "string", "the agent chats use by default"}},
     {{101, "switching to WebSocket", ""},
      {400, "a bad session id", "Error"},
      {426, "not a WebSocket upgrade", "Error"}},
     websocket_route},
    {v::get,
     "/openapi.json",
     "system",
     "This document",
     "",
     {},
     {{200, "the OpenAPI 3.1 document", ""}},
     openapi,
     route_access::open},
    {v::get,
     "/docs",
     "system",
     "An interactive browser for this document",
     "",
     {},
     {{200, "an HTML page", "text/html"},
      {404, "swagger-ui-dist is not installed", "Error"}},
     docs_page,
     route_access::open},
    {v::get,
     "/docs/{file}",
     "system",
     "The API browser's scripts",
     "",
     {{"file", "path", "string", "a file of swagger-ui-dist"}},
     {{200, "the file", "text/plain"}, {404, "no such file", "Error"}},
     docs_file,
     route_access::open},
  };
}

http_response preflight(transport_context& ctx, const http_request& req) {
  auto res = empty_response(reply_to_of(req), http::status::no_content);
  res.set(http::field::allow, "GET, POST, PUT, DELETE, OPTIONS");
  auto origin = req[http::field::origin];
  std::string_view from{origin.data(), origin.size()};
  if (cors_allows(ctx.cfg, from)) {
    res.set("Access-Control-Allow-Origin", from);
    res.set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS");
    res.set("Access-Control-Allow-Headers",
            "Content-Type, Authorization, Idempotency-Key, Last-Event-ID");
    res.set("Access-Control-Max-Age", "600");
    res.set(http::field::vary, "Origin");
  }
  return res;
}

} // namespace

std::vector<rest_route> all_routes() {
  auto routes = system_routes();
  for (auto& more : {agent_routes(), resource_routes(), key_routes()})
    routes.insert(routes.end(), more.begin(), more.end());
  return routes;
}

route_result route_request(transport_context& ctx, const http_request& req,
                           const boost::asio::any_io_executor& ex,
                           respond_fn respond) {
  auto target = std::string_view{req.target().data(), req.target().size()};
  auto [path, query] = split_target(target);
  if (req.method() == http::verb::options)
    return preflight(ctx, req);
  if (is_ws_path(path)) {
    auto admitted
      = admit_request(ctx.deps.access, req, query, route_access::user,
                      token_carriers::query_or_subprotocol);
    if (auto refused = std::get_if<http_response>(&admitted))
      return std::move(*refused);
    auto entry = websocket_entry(ctx, req, path, query);
    if (auto ws = std::get_if<ws_target>(&entry))
      ws->who = std::get<principal>(std::move(admitted));
    return entry;
  }
  rest_call call{ctx, req, query, {}, ex, std::move(respond), {}};
  auto found = match_route(ctx.routes, req, path, call.params);
  if (auto route = std::get_if<const rest_route*>(&found)) {
    auto admitted
      = admit_request(ctx.deps.access, req, query, (*route)->access,
                      (*route)->query_token ? token_carriers::query
                                            : token_carriers::header_only);
    if (auto refused = std::get_if<http_response>(&admitted))
      return std::move(*refused);
    call.who = std::get<principal>(std::move(admitted));
    return (*route)->handler(call);
  }
  if (auto res = std::get_if<http_response>(&found))
    return std::move(*res);
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
