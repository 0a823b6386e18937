// Which request goes where. WebSocket upgrades (/ws/chat[/{id}]) first,
// then the route table: the system routes here (/health, /connections,
// /broadcast, /openapi.json, /docs), the agent routes (rest_agent.cpp) and
// the resource routes (rest_resources.cpp). OPTIONS is answered for every
// path (CORS preflight).
#pragma once

#include <vector>

#include "transport/rest_route.hpp"

namespace parley {

/// Every REST route, in the order the API documentation lists them.
std::vector<rest_route> all_routes();

route_result route_request(transport_context& ctx, const http_request& req,
                           const boost::asio::any_io_executor& ex,
                           respond_fn respond);

} // namespace parley
