// Who is asking, decided once per request before its handler runs: API keys
// and JWT bearer tokens (security/), the route's access level (open, any
// user, admins only) and the per-user request budget.
//
//   request --credentials--> access --principal--> handler
//                              | 401 no/unknown credentials
//                              | 403 not an admin
//                              | 429 over the request budget (Retry-After)
#pragma once

#include <memory>
#include <string_view>
#include <variant>

#include "protocol/owner.hpp"
#include "transport/access_policy.hpp"
#include "transport/http_responses.hpp"

namespace parley {

/// Where a request may carry its credential besides the Authorization
/// header: only where browsers cannot set headers.
enum class token_carriers : uint8_t {
  header_only,
  query,                ///< event streams: also ?token=
  query_or_subprotocol, ///< WebSocket upgrades: also a bearer.TOKEN entry
};

/// The caller of `req` if it may use a route of `level`, else the answer
/// that refuses it.
std::variant<principal, http_response>
admit_request(const access_policy& policy, const http_request& req,
              std::string_view query, route_access level,
              token_carriers carriers);

/// The Sec-WebSocket-Protocol value a browser client offered its token in
/// ("bearer.TOKEN"), minus that entry: what the upgrade answer must name.
std::string_view accepted_subprotocol(const http_request& req);

} // namespace parley
