#include "transport/url.hpp"

#include <charconv>

namespace parley {

namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

} // namespace

target_parts split_target(std::string_view target) noexcept {
  auto pos = target.find('?');
  if (pos == std::string_view::npos)
    return {target, {}};
  return {target.substr(0, pos), target.substr(pos + 1)};
}

std::optional<std::string> percent_decode(std::string_view text,
                                          bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size())
        return std::nullopt;
      auto hi = hex_value(text[i + 1]);
      auto lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0)
        return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<std::string_view> query_param(std::string_view query,
                                            std::string_view key) noexcept {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{}
                                          : query.substr(amp + 1);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) != key)
      continue;
    if (eq == std::string_view::npos)
      return std::string_view{};
    return pair.substr(eq + 1);
  }
  return std::nullopt;
}

bool is_valid_session_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 128)
    return false;
  for (auto c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok)
      return false;
  }
  return true;
}

std::optional<host_port> parse_host_port(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size()
        || text[close + 1] != ':')
      return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
      return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    // An unbracketed IPv6 address is ambiguous: which colon starts the port?
    if (host.find(':') != std::string_view::npos)
      return std::nullopt;
  }
  if (host.empty() || port.empty())
    return std::nullopt;
  unsigned value = 0;
  auto [end, ec]
    = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || end != port.data() + port.size() || value > 65535)
    return std::nullopt;
  return host_port{std::string{host}, static_cast<uint16_t>(value)};
}

} // namespace parley
