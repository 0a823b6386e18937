#include "transport/access.hpp"

#include <boost/beast/http.hpp>

#include "transport/url.hpp"

namespace http = boost::beast::http;

namespace parley {

namespace {

constexpr std::string_view bearer_prefix = "bearer.";

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

/// Calls `f` on each comma-separated entry of the Sec-WebSocket-Protocol
/// header; stops when it returns true.
template<class F>
void for_each_subprotocol(const http_request& req, F f) {
  auto value = req[http::field::sec_websocket_protocol];
  std::string_view list{value.data(), value.size()};
  while (!list.empty()) {
    auto comma = list.find(',');
    auto entry = trim(list.substr(0, comma));
    if (f(entry))
      return;
    if (comma == std::string_view::npos)
      break;
    list.remove_prefix(comma + 1);
  }
}

/// The credential the request carries: the Authorization header, else
/// where `carriers` allow `?token=` or a "bearer.TOKEN" subprotocol.
std::string credential_of(const http_request& req, std::string_view query,
                          token_carriers carriers) {
  auto auth = req[http::field::authorization];
  std::string_view header{auth.data(), auth.size()};
  if (header.size() > 7
      && (header.substr(0, 7) == "Bearer " || header.substr(0, 7) == "bearer "))
    return std::string{trim(header.substr(7))};
  if (carriers == token_carriers::header_only)
    return {};
  if (auto raw = query_param(query, "token"))
    if (auto token = percent_decode(*raw, true))
      return *token;
  std::string found;
  if (carriers == token_carriers::query_or_subprotocol)
    for_each_subprotocol(req, [&](std::string_view entry) {
      if (entry.substr(0, bearer_prefix.size()) != bearer_prefix)
        return false;
      found = entry.substr(bearer_prefix.size());
      return true;
    });
  return found;
}

http_response unauthorized(const http_request& req, std::string message) {
  auto res = error_response(reply_to_of(req), http::status::unauthorized,
                            error_code::unauthorized, std::move(message));
  res.set(http::field::www_authenticate, R"(Bearer realm="parley")");
  return res;
}

std::variant<principal, std::string>
authenticate(const access_policy& policy, const std::string& credential) {
  if (auto who = policy.keys->authenticate(credential))
    return *who;
  if (policy.jwt && looks_like_jwt(credential))
    return policy.jwt->verify(credential);
  return std::string{"the API key is unknown or was revoked"};
}

} // namespace

std::variant<principal, http_response>
admit_request(const access_policy& policy, const http_request& req,
              std::string_view query, route_access level,
              token_carriers carriers) {
  if (level == route_access::open)
    return principal{};
  if (!policy.required)
    return principal{{}, true};
  auto credential = credential_of(req, query, carriers);
  if (credential.empty())
    return unauthorized(req, "send an API key or token: Authorization: "
                             "Bearer …");
  auto checked = authenticate(policy, credential);
  if (auto why = std::get_if<std::string>(&checked))
    return unauthorized(req, std::move(*why));
  auto who = std::get<principal>(std::move(checked));
  if (level == route_access::admin && !who.admin)
    return error_response(reply_to_of(req), http::status::forbidden,
                          error_code::forbidden, "this route is for admins");
  if (policy.requests) {
    auto wait = policy.requests->take(who.user);
    if (wait.count() > 0) {
      auto seconds = std::to_string(rate_limiter::seconds_of(wait));
      auto res
        = error_response(reply_to_of(req), http::status::too_many_requests,
                         error_code::rate_limited,
                         "too many requests; retry in " + seconds + " s");
      res.set(http::field::retry_after, seconds);
      return res;
    }
  }
  return who;
}

std::string_view accepted_subprotocol(const http_request& req) {
  std::string_view chosen;
  for_each_subprotocol(req, [&](std::string_view entry) {
    if (entry.empty() || entry.substr(0, bearer_prefix.size()) == bearer_prefix)
      return false;
    chosen = entry;
    return true;
  });
  return chosen;
}

} // namespace parley
