// Cross-origin access for browser clients on other origins: off unless
// --cors-origin names origins (or `*`). Only responses to an allowed Origin
// carry the Access-Control headers.
#pragma once

#include <algorithm>
#include <string_view>

#include <boost/beast/http/message.hpp>

#include "transport/server.hpp"

namespace parley {

inline bool cors_allows(const server_config& cfg, std::string_view origin) {
  if (origin.empty())
    return false;
  return std::any_of(
    cfg.cors_origins.begin(), cfg.cors_origins.end(),
    [&](const std::string& x) { return x == "*" || x == origin; });
}

template<class Body>
void add_cors_headers(const server_config& cfg, std::string_view origin,
                      boost::beast::http::response<Body>& res) {
  if (!cors_allows(cfg, origin))
    return;
  res.set("Access-Control-Allow-Origin", origin);
  res.set("Access-Control-Expose-Headers",
          "X-Total-Count, X-Run-Id, Location, Retry-After");
  res.set(boost::beast::http::field::vary, "Origin");
}

} // namespace parley
