#include <boost/beast/http.hpp>

#include "transport/rest_route.hpp"

namespace http = boost::beast::http;

namespace parley {

namespace {

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 1;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string_view::npos)
      end = path.size();
    out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

/// How well `pattern` fits `path`: -1 for not at all, else the number of
/// literal segments (more is more specific).
int fit(std::string_view pattern, const std::vector<std::string_view>& path,
        std::vector<std::string>* params) {
  auto want = segments(pattern);
  if (want.size() != path.size())
    return -1;
  int literal = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    bool is_param = want[i].size() > 2 && want[i].front() == '{';
    if (is_param) {
      if (path[i].empty())
        return -1;
      if (params)
        params->emplace_back(path[i]);
    } else if (want[i] != path[i]) {
      return -1;
    } else {
      ++literal;
    }
  }
  return literal;
}

} // namespace

std::variant<std::monostate, const rest_route*, http_response>
match_route(const std::vector<rest_route>& routes, const http_request& req,
            std::string_view path, std::vector<std::string>& params) {
  // Every pattern starts with '/'; a target that does not (`Xapi/...`)
  // must not be served as if it did.
  if (path.empty() || path.front() != '/')
    return std::monostate{};
  auto parts = segments(path);
  int best = -1;
  for (auto& route : routes)
    best = std::max(best, fit(route.pattern, parts, nullptr));
  if (best < 0)
    return std::monostate{};
  std::string allow;
  for (auto& route : routes) {
    if (fit(route.pattern, parts, nullptr) != best)
      continue;
    if (route.method == req.method()) {
      fit(route.pattern, parts, &params);
      return &route;
    }
    auto name = http::to_string(route.method);
    if (allow.find(std::string{name.data(), name.size()}) == std::string::npos)
      allow += (allow.empty() ? "" : ", ") + std::string{name};
  }
  allow += ", OPTIONS";
  return method_not_allowed(req, allow);
}

} // namespace parley
