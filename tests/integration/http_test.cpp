// The HTTP side of parleyd's port: health, the connection list, broadcast,
// and the error statuses of bad requests.
#include <algorithm>

#include <catch2/catch.hpp>

#include "server_process.hpp"
#include "test_support.hpp"
#include "ws_client.hpp"

using namespace parley::test;
namespace http = boost::beast::http;

namespace {

/// Checks an HTTP error reply: its status and `{"error":{"code":...}}`.
void check_http_error(const http_reply& reply, unsigned status,
                      const char* code) {
  INFO("body: " << reply.body);
  CHECK(reply.status == status);
  CHECK(reply.header("Content-Type") == "application/json");
  REQUIRE(reply.json.IsObject());
  auto error = reply.json.FindMember("error");
  REQUIRE(error != reply.json.MemberEnd());
  REQUIRE(error->value.IsObject());
  auto found = error->value.FindMember("code");
  REQUIRE(found != error->value.MemberEnd());
  CHECK(to_json(found->value) == json_quote(code));
}

std::vector<std::string> sorted(std::vector<std::string> xs) {
  std::sort(xs.begin(), xs.end());
  return xs;
}

} // namespace

TEST_CASE("GET /health answers ok", "[integration]") {
  server_process srv;
  auto reply = http_request(srv.port(), http::verb::get, "/health");
  CHECK(reply.status == 200);
  CHECK(reply.header("Content-Type") == "application/json");
  CHECK(reply.body == R"({"status":"ok","storage":"up"})");
  check_clean_exit(srv);
}

TEST_CASE("bad HTTP requests get JSON errors with the right status",
          "[integration]") {
  server_process srv;
  auto port = srv.port();
  SECTION("an unknown path is 404") {
    check_http_error(http_request(port, http::verb::get, "/nope"), 404,
                     "not_found");
  }
  SECTION("a wrong method is 405 with Allow") {
    auto reply = http_request(port, http::verb::post, "/health", "{}");
    check_http_error(reply, 405, "invalid_field");
    CHECK(reply.header("Allow") == "GET, OPTIONS");
  }
  SECTION("a WebSocket path without an upgrade is 426") {
    check_http_error(http_request(port, http::verb::get, "/ws/chat"), 426,
                     "invalid_field");
  }
  SECTION("a session id with a character outside [A-Za-z0-9_-] is 400") {
    check_http_error(http_request(port, http::verb::get, "/ws/chat/bad%21id"),
                     400, "invalid_field");
    CHECK(websocket_upgrade_status(port, "/ws/chat/bad.id") == 400);
    CHECK(websocket_upgrade_status(port, "/ws/chat/a%20b") == 400);
  }
  SECTION("a session id over 128 characters is 400; 128 are fine") {
    CHECK(websocket_upgrade_status(port, "/ws/chat/" + std::string(129, 'x'))
          == 400);
    auto longest = std::string(127, 'y') + "_";
    ws_client ws{port, "/ws/chat/" + longest};
    CHECK(ws.read_greeting() == longest);
  }
  SECTION("an agent_name that is not valid percent-encoding is 400") {
    CHECK(websocket_upgrade_status(port, "/ws/chat?agent_name=%ZZ") == 400);
    check_http_error(
      http_request(port, http::verb::get, "/ws/chat?agent_name=%ZZ"), 400,
      "invalid_field");
  }
  SECTION("/broadcast without a string message is 400") {
    check_http_error(http_request(port, http::verb::post, "/broadcast", "{}"),
                     400, "invalid_field");
    check_http_error(
      http_request(port, http::verb::post, "/broadcast", R"({"message":42})"),
      400, "invalid_field");
    check_http_error(
      http_request(port, http::verb::post, "/broadcast", R"({"message":)"), 400,
      "bad_json");
  }
  // The server survived all of it.
  CHECK(http_request(port, http::verb::get, "/health").status == 200);
  check_clean_exit(srv);
}

TEST_CASE("the agent_name query names the connection's agent",
          "[integration]") {
  server_process srv;
  ws_client poet{srv.port(), "/ws/chat/verse?agent_name=po%65t"};
  auto first = poet.read_frame();
  REQUIRE(first.type() == "connected");
  CHECK(first.str("session_id") == "verse");
  CHECK(first.str("agent_name") == "poet");
  ws_client plain{srv.port(), "/ws/chat?agent_name="};
  auto greeting = plain.read_frame();
  REQUIRE(greeting.type() == "connected");
  CHECK(greeting.str("agent_name") == "researcher");
}

TEST_CASE("/connections lists the open connections and forgets closed ones",
          "[integration]") {
  server_process srv;
  auto port = srv.port();
  auto empty = wait_for_connections(port, 0);
  CHECK(empty.body == R"({"active_connections":0,"session_ids":[]})");
  auto a = std::make_unique<ws_client>(port, "/ws/chat/alpha");
  auto b = std::make_unique<ws_client>(port, "/ws/chat");
  CHECK(a->read_greeting() == "alpha");
  auto b_id = b->read_greeting();
  CHECK_FALSE(b_id.empty());
  auto two = wait_for_connections(port, 2);
  INFO("last reply: " << two.body);
  REQUIRE(two.status == 200);
  CHECK(sorted(session_ids_of(two)) == sorted({"alpha", b_id}));

  SECTION("after a close handshake") {
    a->close();
  }
  SECTION("after the TCP connection drops") {
    a->drop();
  }
  auto one = wait_for_connections(port, 1);
  INFO("last reply: " << one.body);
  CHECK(session_ids_of(one) == std::vector<std::string>{b_id});
  b->close();
  auto none = wait_for_connections(port, 0);
  CHECK(none.body == R"({"active_connections":0,"session_ids":[]})");
  check_clean_exit(srv);
}

TEST_CASE("/broadcast reaches every open connection", "[integration]") {
  server_process srv;
  auto port = srv.port();
  ws_client a{port};
  ws_client b{port};
  a.read_greeting();
  b.read_greeting();
  // The registry learns of a connection just after greeting it.
  REQUIRE(session_ids_of(wait_for_connections(port, 2)).size() == 2);
  auto before = unix_now_ms();
  auto reply = http_request(port, http::verb::post, "/broadcast",
                            R"({"message":"maintenance at 17:00 \u2014 ok"})");
  CHECK(reply.status == 200);
  CHECK(reply.body == R"({"sent_to":2})");
  for (auto* ws : {&a, &b}) {
    auto frame = ws->read_frame();
    REQUIRE(frame.type() == "broadcast");
    CHECK(frame.str("message") == "maintenance at 17:00 \xE2\x80\x94 ok");
    REQUIRE(frame.at("server_time").IsInt64());
    CHECK(frame.at("server_time").GetInt64() >= before - 1000);
    CHECK(frame.at("server_time").GetInt64() <= unix_now_ms() + 1000);
  }
  check_clean_exit(srv, {&a, &b});
}

TEST_CASE("a broadcast of bytes that are not UTF-8 does not disconnect the "
          "clients",
          "[integration]") {
  // Text frames must be UTF-8 (RFC 6455 8.1): the server may refuse the
  // message (400) or repair it, but must not send it as it is, which would
  // make every client fail its connection with 1007.
  server_process srv;
  ws_client ws{srv.port()};
  ws.read_greeting();
  REQUIRE(session_ids_of(wait_for_connections(srv.port(), 1)).size() == 1);
  auto reply = http_request(srv.port(), http::verb::post, "/broadcast",
                            "{\"message\":\"bad \xff\xfe bytes\"}");
  INFO("POST /broadcast: " << reply.status << " " << reply.body);
  std::vector<ws_frame> after;
  REQUIRE_NOTHROW(after = ws.read_until_fence());
  if (reply.status == 200) {
    REQUIRE(after.size() == 1);
    CHECK(after[0].type() == "broadcast");
  } else {
    CHECK(reply.status == 400);
    CHECK(after.empty());
  }
}
