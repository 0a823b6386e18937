// How connections end: an oversized frame (1009), a silent peer (heartbeat,
// 1001), and the server shutting down on SIGTERM (1001, exit code 0).
#include <future>

#include <catch2/catch.hpp>

#include "server_process.hpp"
#include "test_support.hpp"
#include "ws_client.hpp"

using namespace parley::test;
namespace http = boost::beast::http;

namespace {

/// A ping frame of exactly `size` bytes (padding in its timestamp).
std::string ping_of_size(size_t size) {
  std::string head = R"({"type":"ping","payload":{"timestamp":")";
  std::string tail = R"("}})";
  REQUIRE(size > head.size() + tail.size());
  return head + std::string(size - head.size() - tail.size(), 'p') + tail;
}

/// Reads until the connection ends; returns how it ended.
ws_frame read_until_closed(ws_client& ws, millis timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<millis>(
      deadline - std::chrono::steady_clock::now());
    auto frame = ws.read_frame(std::max(left, millis{1}));
    if (frame.what != ws_frame::kind::text
        && frame.what != ws_frame::kind::binary)
      return frame;
  }
}

} // namespace

TEST_CASE("a message over --max-frame-bytes closes the connection with 1009 "
          "and the server goes on",
          "[integration]") {
  server_process srv{{"--max-frame-bytes", "4096"}};
  ws_client ws{srv.port()};
  ws.read_greeting();
  // Exactly at the limit is still accepted.
  auto largest = ping_of_size(4096);
  ws.send_text(largest);
  auto pong = ws.read_frame();
  REQUIRE(pong.type() == "pong");
  auto padding = pong.str("timestamp");
  CHECK(padding.size() > 4000);
  CHECK(largest.find(padding) != std::string::npos);

  ws.send_text(ping_of_size(4097));
  auto end = ws.read_frame();
  INFO("after the oversized frame: " << end.describe());
  REQUIRE(end.what == ws_frame::kind::closed);
  CHECK(end.close.code == 1009);
  CHECK(ws.reason().code == 1009);
  CHECK_FALSE(ws.is_open());

  // The server still accepts and serves new connections.
  ws_client next{srv.port()};
  next.read_greeting();
  CHECK(next.read_until_fence().empty());
  auto listed = wait_for_connections(srv.port(), 1);
  INFO("last /connections reply: " << listed.body);
  CHECK(session_ids_of(listed).size() == 1);
  check_clean_exit(srv, {&next});
}

TEST_CASE("a text frame that is not UTF-8 closes the connection with 1007",
          "[integration]") {
  server_process srv;
  ws_client ws{srv.port()};
  ws.read_greeting();
  ws.send_text(R"({"type":"ping","payload":{"timestamp":")"
               "\xff\xfe"
               R"("}})");
  auto end = ws.read_frame();
  INFO("after the bad frame: " << end.describe());
  REQUIRE(end.what == ws_frame::kind::closed);
  CHECK(end.close.code == 1007);
  CHECK(session_ids_of(wait_for_connections(srv.port(), 0)).empty());
  check_clean_exit(srv);
}

TEST_CASE("a peer that does not answer pings is dropped after two heartbeat "
          "periods, one that does stays",
          "[integration]") {
  server_process srv{{"--heartbeat-s", "1"}};
  auto port = srv.port();
  // `silent` never reads again after its greeting, so Beast never answers
  // the server's pings for it; `lively` is always reading, so it does.
  ws_client silent{port, "/ws/chat/silent"};
  auto silent_since = std::chrono::steady_clock::now();
  ws_client lively{port, "/ws/chat/lively"};
  silent.read_greeting();
  lively.read_greeting();
  REQUIRE(session_ids_of(wait_for_connections(port, 2)).size() == 2);
  // Blocks until the broadcast below arrives, answering pings meanwhile.
  auto reader = std::async(std::launch::async,
                           [&lively] { return lively.read_frame(20s); });

  auto after = wait_for_connections(port, 1, 8s);
  auto waited = std::chrono::steady_clock::now() - silent_since;
  INFO("last /connections reply: " << after.body);
  CHECK(session_ids_of(after) == std::vector<std::string>{"lively"});
  // Silent for more than two periods, noticed at the next tick (the
  // session's clock starts a hair after ours: 100 ms of slack).
  CHECK(waited >= 1900ms);
  CHECK(waited < 6s);

  auto sent = http_request(port, http::verb::post, "/broadcast",
                           R"({"message":"still there?"})");
  CHECK(sent.body == R"({"sent_to":1})");
  auto woke = reader.get();
  CHECK(woke.type() == "broadcast");
  CHECK(lively.pings_seen() >= 1);

  // What the silent peer finds once it reads: pings, then a 1001 close.
  auto end = read_until_closed(silent, 10s);
  INFO("silent peer: " << end.describe());
  REQUIRE(end.what == ws_frame::kind::closed);
  CHECK(end.close.code == 1001);
  CHECK(end.close.reason == "heartbeat timeout");
  check_clean_exit(srv, {&lively});
}

TEST_CASE("SIGTERM closes open connections with 1001 and exits with 0",
          "[integration]") {
  server_process srv{{"--token-interval-ms", "100"}};
  ws_client ws{srv.port()};
  ws.read_greeting();
  // A run in flight must not keep the server from stopping.
  ws.send_text(chat_frame(question));
  ws.read_until("chat_session_start");
  auto reader = std::async(std::launch::async,
                           [&ws] { return read_until_closed(ws, 20s); });
  auto status = srv.stop();
  INFO("parleyd " << to_string(status));
  CHECK(status.exited);
  CHECK(status.code == 0);
  CHECK_FALSE(status.killed_after_deadline);
  auto end = reader.get();
  INFO("client: " << end.describe());
  REQUIRE(end.what == ws_frame::kind::closed);
  CHECK(end.close.code == 1001);
}

TEST_CASE("SIGTERM on an idle server exits with 0", "[integration]") {
  server_process srv;
  REQUIRE(http_request(srv.port(), http::verb::get, "/health").status == 200);
  check_clean_exit(srv);
  CHECK_FALSE(srv.running());
}

TEST_CASE("SIGTERM with a peer that ignores the close still exits with 0",
          "[integration]") {
  server_process srv;
  ws_client deaf{srv.port()};
  deaf.read_greeting();
  REQUIRE(session_ids_of(wait_for_connections(srv.port(), 1)).size() == 1);
  // `deaf` never reads the server's goodbye; the server stops waiting for
  // it after its close timeout.
  auto started = std::chrono::steady_clock::now();
  check_clean_exit(srv);
  CHECK(std::chrono::steady_clock::now() - started < 12s);
}

TEST_CASE("parleyd refuses out-of-range options and never starts listening",
          "[integration]") {
  using Catch::Matchers::Contains;
  for (auto args :
       std::vector<std::vector<std::string>>{{"--max-frame-bytes", "10"},
                                             {"--heartbeat-s", "0"},
                                             {"--token-interval-ms", "-1"},
                                             {"--log-level", "chatty"}}) {
    INFO("extra args: " << Catch::Detail::stringify(args));
    try {
      server_process srv{args};
      FAIL("parleyd started on port " << srv.port());
    } catch (const std::runtime_error& err) {
      std::string what = err.what();
      CHECK_THAT(what, Contains("before printing it"));
      CHECK_THAT(what, !Contains("exited with 0 "));
    }
  }
}
