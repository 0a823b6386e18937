// The REST routes and the WebSocket entry point: which request goes where.
//
//   GET  /health              -> {"status":"ok"}
//   GET  /connections         -> connection_registry list
//   POST /broadcast           -> connection_registry broadcast
//   GET  /ws/chat[/{id}]      -> WebSocket upgrade (426 without one)
//
// Handlers that ask an actor answer later, through `respond` on the
// session's executor; the rest answer at once.
#pragma once

#include <functional>
#include <string>
#include <variant>

#include <boost/asio/any_io_executor.hpp>

#include "transport/http_responses.hpp"
#include "transport/transport_context.hpp"

namespace parley {

/// A request that may become a WebSocket: the connection's session id
/// (given or generated) and the agent it talks to by default.
struct ws_target {
  std::string session_id;
  std::string agent_name;
};

/// The handler will call `respond` later (it asked an actor).
struct response_pending {};

using route_result = std::variant<http_response, ws_target, response_pending>;

/// Called at most once, on the executor given to route_request.
using respond_fn = std::function<void(http_response)>;

route_result route_request(transport_context& ctx, const http_request& req,
                           const boost::asio::any_io_executor& ex,
                           respond_fn respond);

} // namespace parley
