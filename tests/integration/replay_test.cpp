// Disconnect is not stop: runs outlive the connection that started them,
// and any later connection catches up with `subscribe`.
#include <catch2/catch.hpp>

#include "server_process.hpp"
#include "test_support.hpp"
#include "ws_client.hpp"

using namespace parley::test;

namespace {

std::string subscribe_run(const std::string& run_id, uint64_t last_seq) {
  return R"({"type":"subscribe","payload":{"chat_session_id":)"
         + json_quote(run_id) + R"(,"last_seq":)" + std::to_string(last_seq)
         + "}}";
}

/// Reads `subscribed` and then the run's frames up to its terminal one.
/// Returns the frames after `subscribed`; `replayed` gets its count.
std::vector<ws_frame> read_subscription(ws_client& ws,
                                        const std::string& run_id,
                                        uint64_t last_seq, uint64_t& replayed) {
  auto first = ws.read_frame();
  INFO("first frame: " << first.describe());
  REQUIRE(first.type() == "subscribed");
  CHECK(first.str("chat_session_id") == run_id);
  CHECK(first.uint("last_seq") == last_seq);
  replayed = first.uint("replayed");
  return ws.read_until(
    [&](const ws_frame& f) {
      auto type = f.type();
      return f.run_id() == run_id
             && (type == "done" || type == "cancelled" || type == "error");
    },
    default_timeout, "the end of run " + run_id);
}

/// Starts a slow run on a fresh connection and ends that connection right
/// after chat_session_start; returns the run id.
std::string start_and_disconnect(uint16_t port, std::string_view extra,
                                 bool close_handshake) {
  ws_client ws{port};
  ws.read_greeting();
  ws.send_text(chat_frame(question, extra));
  auto frames = ws.read_until("chat_session_start");
  if (close_handshake)
    ws.close();
  else
    ws.drop();
  return frames.back().run_id();
}

} // namespace

TEST_CASE("a run goes on after its connection closes and a new connection "
          "replays it",
          "[integration]") {
  // 200 ms a step: the run is still streaming when the new connection asks.
  server_process srv{{"--token-interval-ms", "200"}};
  bool close_handshake = GENERATE(false, true);
  INFO("ended with " << (close_handshake ? "a close handshake" : "a drop"));
  auto run_id = start_and_disconnect(srv.port(), {}, close_handshake);
  REQUIRE_FALSE(run_id.empty());

  ws_client ws{srv.port()};
  ws.read_greeting();
  ws.send_text(subscribe_run(run_id, 0));
  uint64_t replayed = 0;
  auto frames = read_subscription(ws, run_id, 0, replayed);
  auto run = frames_of_run(frames, run_id);
  REQUIRE(run.size() == frames.size());
  check_answered_63(run);
  CHECK(replayed >= 1);
  CHECK(replayed <= run.size());
  CHECK(ws.read_until_fence().empty());

  SECTION("a finished run replays from last_seq on") {
    auto total = run.size();
    ws_client late{srv.port()};
    late.read_greeting();
    late.send_text(subscribe_run(run_id, 5));
    uint64_t late_replayed = 0;
    auto rest = read_subscription(late, run_id, 5, late_replayed);
    CHECK(late_replayed == total - 5);
    REQUIRE(rest.size() == total - 5);
    CHECK(rest.front().seq() == 6);
    CHECK(rest.back().seq() == total);
    CHECK(rest.back().str("content") == run.back()->str("content"));
    CHECK(late.read_until_fence().empty());
  }
  check_clean_exit(srv, {&ws});
}

TEST_CASE("a run started with cancel_on_disconnect is cancelled when its "
          "connection drops",
          "[integration]") {
  server_process srv{{"--token-interval-ms", "200"}};
  auto run_id
    = start_and_disconnect(srv.port(), R"("cancel_on_disconnect":true)", false);
  ws_client ws{srv.port()};
  ws.read_greeting();
  ws.send_text(subscribe_run(run_id, 0));
  uint64_t replayed = 0;
  auto frames = read_subscription(ws, run_id, 0, replayed);
  auto run = frames_of_run(frames, run_id);
  INFO("run types: " << Catch::Detail::stringify(types_of(run)));
  CHECK(run.front()->type() == "chat_session_start");
  CHECK(run.back()->type() == "cancelled");
  check_contiguous_seqs(run);
  CHECK(ws.read_until_fence().empty());
}

TEST_CASE("subscribing to an unknown run is a not_found error",
          "[integration]") {
  server_process srv;
  ws_client ws{srv.port()};
  ws.read_greeting();
  ws.send_text(subscribe_run("00000000-0000-4000-8000-000000000000", 0));
  auto reply = ws.read_frame();
  INFO("reply: " << reply.describe());
  REQUIRE(reply.type() == "error");
  CHECK(reply.str("code") == "not_found");
  CHECK(reply.str("type") == "subscribe");
  CHECK(reply.str("field") == "chat_session_id");
}

TEST_CASE("a connection following a conversation gets the runs another "
          "connection starts in it",
          "[integration]") {
  server_process srv{{"--token-interval-ms", "1"}};
  ws_client author{srv.port(), "/ws/chat/room-1"};
  ws_client follower{srv.port()};
  author.read_greeting();
  follower.read_greeting();
  follower.send_text(
    R"({"type":"subscribe","payload":{"conversation_id":"room-1"}})");
  auto subscribed = follower.read_frame();
  REQUIRE(subscribed.type() == "subscribed");
  CHECK(subscribed.str("conversation_id") == "room-1");
  CHECK(subscribed.uint("replayed") == 0);

  author.send_text(chat_frame(question));
  auto authored = author.read_until("done");
  auto followed = follower.read_until("done");
  auto run_id = authored.back().run_id();
  CHECK(followed.back().run_id() == run_id);
  auto run = frames_of_run(followed, run_id);
  REQUIRE(run.size() == followed.size());
  check_answered_63(run);
  CHECK(run.front()->str("conversation_id") == "room-1");
  CHECK(types_of(run) == types_of(frames_of_run(authored, run_id)));
}

TEST_CASE("a run no longer kept in memory replays from the store frame for "
          "frame",
          "[integration]") {
  // A conversation keeps its last 4 finished runs in memory (see
  // server_options::recent_runs_kept); the first of 6 is read back from
  // the store.
  server_process srv{{"--token-interval-ms", "0"}};
  std::vector<std::string> first_run;
  std::string run_id;
  {
    ws_client ws{srv.port(), "/ws/chat/evictions"};
    ws.read_greeting();
    for (int i = 0; i < 6; ++i) {
      auto [id, frames] = chat_until(ws, "done");
      check_answered_63(frames_of_run(frames, id));
      if (i == 0) {
        run_id = id;
        for (const auto& frame : frames)
          first_run.push_back(frame.payload);
      }
    }
  }
  for (uint64_t last_seq : {0, 5}) {
    INFO("last_seq " << last_seq);
    ws_client ws{srv.port()};
    ws.read_greeting();
    ws.send_text(subscribe_run(run_id, last_seq));
    uint64_t replayed = 0;
    auto frames = read_subscription(ws, run_id, last_seq, replayed);
    std::vector<std::string> texts;
    for (const auto& frame : frames)
      texts.push_back(frame.payload);
    CHECK(texts
          == std::vector<std::string>(first_run.begin() + last_seq,
                                      first_run.end()));
    CHECK(replayed == texts.size());
  }
}

TEST_CASE("subscribed.replayed counts the frames that follow it, also for a "
          "run the connection has seen",
          "[integration]") {
  // The protocol promises both that `replayed` frames follow `subscribed`
  // and that a connection gets each (run, seq) once; a client that reads
  // `replayed` frames must not wait for frames that never come.
  server_process srv{{"--token-interval-ms", "0"}};
  ws_client ws{srv.port()};
  ws.read_greeting();
  auto [run_id, frames] = chat_until(ws, "done");
  ws.send_text(subscribe_run(run_id, 5));
  auto subscribed = ws.read_frame();
  REQUIRE(subscribed.type() == "subscribed");
  auto following = ws.read_until_fence();
  INFO("subscribed: " << subscribed.describe());
  CHECK(subscribed.uint("replayed") == following.size());
}
