// What a route handler gets and gives back, and the table entry that
// declares a REST route once: its method and path pattern, the handler, and
// what the OpenAPI document says about it (transport/openapi.cpp reads the
// same entries, so the document cannot drift from the code).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/beast/http/verb.hpp>

#include "actors/sse_stream.hpp"
#include "protocol/owner.hpp"
#include "transport/access_policy.hpp"
#include "transport/http_responses.hpp"

namespace parley {

struct transport_context;

/// A request that may become a WebSocket: the connection's session id
/// (given or generated) and the agent it talks to by default.
struct ws_target {
  std::string session_id;
  std::string agent_name;
  /// Who the connection authenticated as.
  principal who;
};

/// The handler will call `respond` later (it asked an actor). If the client
/// goes away first, `on_abandon` runs (e.g. to cancel the run it waited
/// for).
struct response_pending {
  std::function<void()> on_abandon;
};

/// The answer is a stream of Server-Sent Events.
struct sse_target {
  sse_plan plan;
};

using route_result
  = std::variant<http_response, ws_target, response_pending, sse_target>;

/// Called at most once, on the executor given to the handler.
using respond_fn = std::function<void(http_response)>;

struct rest_call {
  transport_context& ctx;
  const http_request& req;
  std::string_view query;
  /// The `{name}` segments of the pattern, in order.
  std::vector<std::string> params;
  boost::asio::any_io_executor ex;
  respond_fn respond;
  /// Who is asking (authenticated before routing).
  principal who;
};

using rest_handler = std::function<route_result(rest_call&)>;

/// A parameter as the OpenAPI document lists it.
struct param_doc {
  std::string name;
  std::string in; ///< path | query | header
  std::string type = "string";
  std::string description;
};

/// One documented response. `schema` is a component name ("Persona"), an
/// array of one ("Persona[]"), or a media type for non-JSON answers
/// ("text/event-stream", "image/*"); empty for no body.
struct response_doc {
  unsigned status;
  std::string description;
  std::string schema;
};

struct rest_route {
  boost::beast::http::verb method;
  std::string pattern; ///< e.g. /api/personas/{id}
  std::string tag;
  std::string summary;
  /// Component name of the JSON request body, or a media type
  /// ("image/*"), or empty for none.
  std::string body;
  std::vector<param_doc> params;
  std::vector<response_doc> responses;
  rest_handler handler;
  route_access access = route_access::user;
  /// Also takes its credential as ?token= (event streams and images, which
  /// browsers fetch without letting a page set headers).
  bool query_token = false;
};

/// The agent routes (/api/agent/..., /api/chat/send).
std::vector<rest_route> agent_routes();

/// The CRUD routes of every resource kind, templates, modules' plugin
/// functions and persona images.
std::vector<rest_route> resource_routes();

/// API key management for admins (/api/keys).
std::vector<rest_route> key_routes();

/// The route whose pattern fits `path` best (literal segments beat
/// `{params}`), with `call.params` filled; a 405 (with Allow) when the path
/// fits but the method does not; nothing when no pattern fits.
std::variant<std::monostate, const rest_route*, http_response>
match_route(const std::vector<rest_route>& routes, const http_request& req,
            std::string_view path, std::vector<std::string>& params);

} // namespace parley
