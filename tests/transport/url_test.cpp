// The routing rules of the transport, without a socket: targets, query
// parameters, session ids and --listen addresses.
#include <catch2/catch.hpp>

#include "transport/url.hpp"

using namespace parley;

TEST_CASE("split_target separates path and query", "[transport][url]") {
  auto parts = split_target("/ws/chat/abc?agent_name=researcher&x=1");
  CHECK(parts.path == "/ws/chat/abc");
  CHECK(parts.query == "agent_name=researcher&x=1");
  auto bare = split_target("/health");
  CHECK(bare.path == "/health");
  CHECK(bare.query.empty());
}

TEST_CASE("percent_decode decodes escapes and refuses malformed ones",
          "[transport][url]") {
  CHECK(percent_decode("a%20b", false) == std::string{"a b"});
  CHECK(percent_decode("a+b", true) == std::string{"a b"});
  CHECK(percent_decode("a+b", false) == std::string{"a+b"});
  CHECK(percent_decode("%E2%82%AC", false) == std::string{"\xE2\x82\xAC"});
  CHECK_FALSE(percent_decode("%2", false).has_value());
  CHECK_FALSE(percent_decode("%zz", false).has_value());
}

TEST_CASE("query_param finds the first value of a key", "[transport][url]") {
  CHECK(query_param("agent_name=researcher&a=1", "agent_name")
        == std::string_view{"researcher"});
  CHECK(query_param("a=1&a=2", "a") == std::string_view{"1"});
  CHECK(query_param("a=&b", "b") == std::string_view{""});
  CHECK_FALSE(query_param("ab=1", "a").has_value());
  CHECK_FALSE(query_param("", "a").has_value());
}

TEST_CASE("session ids are [A-Za-z0-9_-]{1,128}", "[transport][url]") {
  CHECK(is_valid_session_id("tab-1_A"));
  CHECK(is_valid_session_id(std::string(128, 'x')));
  CHECK_FALSE(is_valid_session_id(""));
  CHECK_FALSE(is_valid_session_id(std::string(129, 'x')));
  CHECK_FALSE(is_valid_session_id("a/b"));
  CHECK_FALSE(is_valid_session_id("a b"));
  CHECK_FALSE(is_valid_session_id("caf\xC3\xA9"));
}

TEST_CASE("parse_host_port reads --listen values", "[transport][url]") {
  auto v4 = parse_host_port("127.0.0.1:8080");
  REQUIRE(v4);
  CHECK(v4->host == "127.0.0.1");
  CHECK(v4->port == 8080);
  auto any = parse_host_port("127.0.0.1:0");
  REQUIRE(any);
  CHECK(any->port == 0);
  auto v6 = parse_host_port("[::1]:9000");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->port == 9000);
  CHECK_FALSE(parse_host_port("127.0.0.1").has_value());
  CHECK_FALSE(parse_host_port("127.0.0.1:65536").has_value());
  CHECK_FALSE(parse_host_port("127.0.0.1:http").has_value());
  CHECK_FALSE(parse_host_port(":80").has_value());
}
