#include "transport/origin_check.hpp"

#include <algorithm>
#include <cctype>

namespace parley {

namespace {

std::string lower(std::string_view text) {
  std::string out{text};
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return out;
}

/// `authority` without the default port of `scheme` (":80" for http,
/// ":443" for https), so `http://a` and Host `a:80` match.
std::string without_default_port(std::string authority,
                                 std::string_view scheme) {
  std::string_view port = scheme == "https" ? ":443" : ":80";
  if (authority.size() > port.size()
      && authority.compare(authority.size() - port.size(), port.size(), port)
           == 0)
    authority.resize(authority.size() - port.size());
  return authority;
}

/// Whether `origin` names http(s)://`host`.
bool same_origin(std::string_view origin, std::string_view host) {
  if (host.empty())
    return false;
  auto text = lower(origin);
  for (std::string_view scheme : {"http", "https"}) {
    auto prefix = std::string{scheme} + "://";
    if (text.compare(0, prefix.size(), prefix) != 0)
      continue;
    auto authority = text.substr(prefix.size());
    return !authority.empty()
           && without_default_port(authority, scheme)
                == without_default_port(lower(host), scheme);
  }
  return false;
}

bool listed(std::string_view origin, const std::vector<std::string>& allowed) {
  auto text = lower(origin);
  return std::any_of(allowed.begin(), allowed.end(), [&](const auto& x) {
    return x == "*" || lower(x) == text;
  });
}

} // namespace

bool valid_origin_pattern(std::string_view pattern) {
  if (pattern == "*")
    return true;
  for (std::string_view prefix : {"http://", "https://"})
    if (pattern.substr(0, prefix.size()) == prefix) {
      auto authority = pattern.substr(prefix.size());
      return !authority.empty()
             && authority.find_first_of("/?#@ ") == std::string_view::npos;
    }
  return false;
}

std::optional<std::string>
refuse_upgrade_origin(const upgrade_origin& req,
                      const std::vector<std::string>& allowed) {
  if (!req.origin) {
    if (!req.browser_markers)
      return std::nullopt;
    return std::string{"a browser request without an Origin header may not "
                       "open a WebSocket"};
  }
  if (same_origin(*req.origin, req.host) || listed(*req.origin, allowed))
    return std::nullopt;
  return "origin '" + std::string{req.origin->substr(0, 200)}
         + "' may not open a WebSocket here (see --allowed-origin)";
}

} // namespace parley
