#include "protocol/owner.hpp"

namespace parley {

namespace {

bool is_plain(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

} // namespace

std::string owner_scope(std::string_view user) {
  if (user.empty())
    return {};
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(user.size() + 1);
  out += '@';
  for (char c : user) {
    if (is_plain(c)) {
      out += c;
    } else {
      auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += hex[byte >> 4];
      out += hex[byte & 0xF];
    }
  }
  return out;
}

std::string scoped_kind(std::string_view kind, std::string_view user) {
  return std::string{kind} + owner_scope(user);
}

std::string_view plain_kind(std::string_view kind) noexcept {
  return kind.substr(0, kind.find('@'));
}

std::string without_scope(std::string text, std::string_view scope) {
  if (scope.empty())
    return text;
  for (auto at = text.find(scope); at != std::string::npos;
       at = text.find(scope, at))
    text.erase(at, scope.size());
  return text;
}

} // namespace parley
