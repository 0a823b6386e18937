// Ending runs early: cancel (by every kind of id), interrupt, and a newer
// chat replacing the run in flight. After a run's `cancelled` nothing of it
// may arrive; a ping fence proves it for what was already sent, and a whole
// later run of the same conversation for what the agent still had under
// way.
#include <catch2/catch.hpp>

#include "server_process.hpp"
#include "test_support.hpp"
#include "ws_client.hpp"

using namespace parley::test;

TEST_CASE("cancel stops a run mid-stream and nothing of it follows cancelled",
          "[integration]") {
  // 100 ms between steps: the cancel lands well before the run could end.
  server_process srv{{"--token-interval-ms", "100"}};
  ws_client ws{srv.port()};
  ws.read_greeting();
  auto [run_id, frames] = chat_until(ws, "chunk", R"("client_msg_id":"msg-1")");

  SECTION("by an empty cancel (the current run)") {
    ws.send_text(R"({"type":"cancel","payload":{}})");
  }
  SECTION("by chat_session_id") {
    ws.send_text(R"({"type":"cancel","payload":{"chat_session_id":)"
                 + json_quote(run_id) + "}}");
  }
  SECTION("by client_msg_id") {
    ws.send_text(R"({"type":"cancel","payload":{"client_msg_id":"msg-1"}})");
  }
  SECTION("by the top-level session_id of the original API") {
    ws.send_text(R"({"type":"cancel","session_id":)" + json_quote(run_id)
                 + "}");
  }
  append(frames, ws.read_until("cancelled"));
  auto run = frames_of_run(frames, run_id);
  INFO("run types: " << Catch::Detail::stringify(types_of(run)));
  CHECK(run.back()->type() == "cancelled");
  check_contiguous_seqs(run);
  CHECK(index_of(frames, "done", run_id) == -1);
  // The fence: everything the server sent before answering a later ping.
  auto after = ws.read_until_fence();
  CHECK(frames_of_run(after, run_id).empty());
  CHECK(after.empty());

  // Nothing is in flight any more, so an empty cancel has nothing to stop.
  ws.send_text(R"({"type":"cancel"})");
  auto reply = ws.read_frame();
  REQUIRE(reply.type() == "error");
  CHECK(reply.str("code") == "not_found");
  CHECK(reply.run_id().empty());

  // The agent may have had a step under way when the cancel came. A whole
  // new run of the same conversation, which reaches this connection by the
  // same path, outlasts that step by many intervals: none of it may show.
  ws.send_text(chat_frame(question));
  auto next = ws.read_until("done");
  CHECK(frames_of_run(next, run_id).empty());
  check_answered_63(frames_of_run(next, next.back().run_id()));
  check_clean_exit(srv, {&ws});
}

TEST_CASE("a cancel naming an unknown run is an error frame", "[integration]") {
  server_process srv;
  ws_client ws{srv.port()};
  ws.read_greeting();
  ws.send_text(
    R"({"type":"cancel","payload":{"chat_session_id":"no-such-run"}})");
  auto reply = ws.read_frame();
  REQUIRE(reply.type() == "error");
  CHECK(reply.str("code") == "not_found");
  CHECK(reply.str("type") == "cancel");
}

TEST_CASE("a new chat on the same conversation cancels the run in flight "
          "before the new run starts",
          "[integration]") {
  server_process srv{{"--token-interval-ms", "100"}};
  ws_client ws{srv.port()};
  ws.read_greeting();
  auto [first, frames] = chat_until(ws, "reasoning_start");
  ws.send_text(chat_frame(question));
  // (A structured binding cannot be captured in C++17: copy it.)
  append(frames, ws.read_until([first = first](const ws_frame& f) {
    return f.type() == "done" && f.run_id() != first;
  }));
  auto second = frames.back().run_id();
  auto cancelled = index_of(frames, "cancelled", first);
  auto started = index_of(frames, "chat_session_start", second);
  REQUIRE(cancelled >= 0);
  REQUIRE(started >= 0);
  CHECK(cancelled < started);
  // Nothing of the first run after its cancelled, and it never finished.
  auto old_run = frames_of_run(frames, first);
  CHECK(old_run.back()->type() == "cancelled");
  check_contiguous_seqs(old_run);
  check_answered_63(frames_of_run(frames, second));
  CHECK(ws.read_until_fence().empty());
}

TEST_CASE("a new chat on another conversation cancels this connection's run "
          "in flight",
          "[integration]") {
  server_process srv{{"--token-interval-ms", "100"}};
  ws_client ws{srv.port()};
  ws.read_greeting();
  auto [first, frames]
    = chat_until(ws, "reasoning_start", R"("conversation_id":"conv-a")");
  ws.send_text(chat_frame(question, R"("conversation_id":"conv-b")"));
  // The two conversations' frames are not ordered against each other: read
  // until both the old run's cancelled and a new run's done are in.
  bool old_cancelled = false;
  bool new_done = false;
  append(frames, ws.read_until(
                   [&, first = first](const ws_frame& f) {
                     old_cancelled
                       |= f.type() == "cancelled" && f.run_id() == first;
                     new_done |= f.type() == "done" && f.run_id() != first;
                     return old_cancelled && new_done;
                   },
                   default_timeout,
                   "cancelled of the first run and done of "
                   "the second"));
  auto old_run = frames_of_run(frames, first);
  CHECK(old_run.back()->type() == "cancelled");
  check_contiguous_seqs(old_run);
  auto second = frames[index_of(frames, "done")].run_id();
  auto new_run = frames_of_run(frames, second);
  check_answered_63(new_run);
  CHECK(new_run.front()->str("conversation_id") == "conv-b");
  CHECK(ws.read_until_fence().empty());
}

TEST_CASE("interrupt cancels every run the connection started",
          "[integration]") {
  server_process srv{{"--token-interval-ms", "100"}};
  ws_client ws{srv.port()};
  ws.read_greeting();
  auto [run_id, frames] = chat_until(ws, "reasoning_start");
  ws.send_text(R"({"type":"interrupt"})");
  append(frames, ws.read_until("cancelled"));
  CHECK(frames.back().run_id() == run_id);
  CHECK(ws.read_until_fence().empty());
}
TEST_CASE("cancelling a run that already ended sends nothing",
          "[integration]") {
  server_process srv{{"--token-interval-ms", "1"}};
  ws_client ws{srv.port()};
  ws.read_greeting();
  auto [run_id, frames] = chat_until(ws, "done");
  ws.send_text(R"({"type":"cancel","payload":{"chat_session_id":)"
               + json_quote(run_id) + "}}");
  auto after = ws.read_until_fence();
  INFO("first frame after the cancel: "
       << (after.empty() ? "-" : after.front().describe()));
  CHECK(after.empty());
}

TEST_CASE("one connection can cancel a run another connection started",
          "[integration]") {
  server_process srv{{"--token-interval-ms", "100"}};
  ws_client author{srv.port()};
  ws_client other{srv.port()};
  author.read_greeting();
  other.read_greeting();
  auto [run_id, frames] = chat_until(author, "reasoning_start");
  other.send_text(R"({"type":"cancel","payload":{"chat_session_id":)"
                  + json_quote(run_id) + "}}");
  // The canceller gets no reply frame: the run's cancelled is the answer,
  // sent to those who follow the run.
  CHECK(other.read_until_fence().empty());
  append(frames, author.read_until("cancelled"));
  auto run = frames_of_run(frames, run_id);
  CHECK(run.back()->type() == "cancelled");
  check_contiguous_seqs(run);
  CHECK(author.read_until_fence().empty());
}

TEST_CASE("two connections sharing a session id share its conversation: "
          "the second's chat cancels the first's run",
          "[integration]") {
  server_process srv{{"--token-interval-ms", "100"}};
  ws_client first{srv.port(), "/ws/chat/shared"};
  ws_client second{srv.port(), "/ws/chat/shared"};
  first.read_greeting();
  second.read_greeting();
  auto [run_a, frames_a] = chat_until(first, "reasoning_start");
  CHECK(frames_a.front().str("conversation_id") == "shared");
  second.send_text(chat_frame(question));
  append(frames_a, first.read_until("cancelled"));
  CHECK(frames_a.back().run_id() == run_a);
  check_contiguous_seqs(frames_of_run(frames_a, run_a));
  auto frames_b = second.read_until("done");
  auto run_b = frames_b.back().run_id();
  CHECK(run_b != run_a);
  // The second connection follows only its own run.
  CHECK(frames_of_run(frames_b, run_a).empty());
  check_answered_63(frames_of_run(frames_b, run_b));
  CHECK(frames_of_run(frames_b, run_b).front()->str("conversation_id")
        == "shared");
  CHECK(first.read_until_fence().empty());
}
