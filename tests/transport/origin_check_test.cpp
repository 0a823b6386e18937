// The WebSocket origin check (cross-site WebSocket hijacking), without a
// socket.
#include <catch2/catch.hpp>

#include "transport/origin_check.hpp"

using namespace parley;

namespace {

bool allowed(std::optional<std::string_view> origin, std::string_view host,
             bool markers = false, const std::vector<std::string>& list = {}) {
  return !refuse_upgrade_origin(upgrade_origin{origin, host, markers}, list);
}

} // namespace

TEST_CASE("an upgrade without Origin is allowed unless a browser marks it",
          "[transport][origin]") {
  CHECK(allowed(std::nullopt, "127.0.0.1:8080"));
  CHECK(allowed(std::nullopt, ""));
  CHECK_FALSE(allowed(std::nullopt, "127.0.0.1:8080", true));
  CHECK_FALSE(allowed(std::nullopt, "127.0.0.1:8080", true, {"*"}));
}

TEST_CASE("an Origin of the request's own host is allowed over http and https",
          "[transport][origin]") {
  CHECK(allowed("http://127.0.0.1:8080", "127.0.0.1:8080"));
  CHECK(allowed("https://chat.example.com", "chat.example.com"));
  CHECK(allowed("HTTP://Chat.Example.com", "chat.example.COM"));
  // Default ports are the same origin with or without them.
  CHECK(allowed("http://chat.example.com", "chat.example.com:80"));
  CHECK(allowed("https://chat.example.com:443", "chat.example.com"));
  CHECK_FALSE(allowed("https://chat.example.com", "chat.example.com:80"));
  CHECK_FALSE(allowed("http://chat.example.com:8081", "chat.example.com:8080"));
  CHECK_FALSE(allowed("http://evil.example", "chat.example.com"));
  CHECK_FALSE(
    allowed("http://chat.example.com.evil.example", "chat.example.com"));
  CHECK_FALSE(allowed("ws://chat.example.com", "chat.example.com"));
  CHECK_FALSE(allowed("null", "chat.example.com"));
  CHECK_FALSE(allowed("", "chat.example.com"));
  CHECK_FALSE(allowed("http://", ""));
  CHECK_FALSE(allowed("http://chat.example.com", ""));
}

TEST_CASE("a foreign Origin is allowed only when listed exactly, or with *",
          "[transport][origin]") {
  std::vector<std::string> list{"https://app.example.com",
                                "http://localhost:3000"};
  CHECK(allowed("https://app.example.com", "api.example.com", true, list));
  CHECK(allowed("http://localhost:3000", "127.0.0.1:8080", false, list));
  CHECK_FALSE(allowed("http://app.example.com", "api.example.com", true, list));
  CHECK_FALSE(allowed("http://localhost:3001", "127.0.0.1:8080", false, list));
  CHECK(allowed("http://anything.example", "api.example.com", true, {"*"}));
  auto why = refuse_upgrade_origin(
    upgrade_origin{"http://evil.example", "127.0.0.1", true}, list);
  REQUIRE(why);
  CHECK(why->find("http://evil.example") != std::string::npos);
}

TEST_CASE("allowed origins are * or a scheme and authority without a path",
          "[transport][origin]") {
  CHECK(valid_origin_pattern("*"));
  CHECK(valid_origin_pattern("https://app.example.com"));
  CHECK(valid_origin_pattern("http://localhost:3000"));
  CHECK_FALSE(valid_origin_pattern("https://app.example.com/"));
  CHECK_FALSE(valid_origin_pattern("app.example.com"));
  CHECK_FALSE(valid_origin_pattern("https://"));
  CHECK_FALSE(valid_origin_pattern("ftp://app.example.com"));
}
