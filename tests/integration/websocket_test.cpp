// The chat channel end to end: a real parleyd, a real WebSocket client.
// A run's events, their numbering and content; pings; many connections.
// Nothing here sleeps: "nothing more arrives" is proven with a ping fence
// (every frame before the fence's pong was sent before the server answered
// the ping).
#include <algorithm>
#include <memory>

#include <catch2/catch.hpp>

#include "server_process.hpp"
#include "test_support.hpp"
#include "ws_client.hpp"

using namespace parley::test;

TEST_CASE("a question streams reasoning and chunks and ends with done "
          "holding the chunks joined",
          "[integration]") {
  server_process srv{{"--token-interval-ms", "1"}};
  ws_client ws{srv.port()};
  auto session_id = ws.read_greeting();
  ws.send_text(chat_frame(question));
  auto frames = ws.read_until("done");
  auto run_id = frames.front().run_id();
  auto run = frames_of_run(frames, run_id);
  // Everything the connection got is this run's.
  REQUIRE(run.size() == frames.size());
  check_answered_63(run);
  CHECK(run.front()->str("conversation_id") == session_id);

  SECTION("the reasoning is announced, staged and stepped in order") {
    auto types = types_of(run);
    CHECK(types[1] == "reasoning_start");
    CHECK(run[1]->str("agent") == "researcher");
    CHECK(run[1]->str("message") == question);
    CHECK(run[1]->boolean("enable_reasoning"));
    std::vector<std::string> stages, steps;
    for (const auto* frame : run) {
      if (frame->type() == "stage_update")
        stages.push_back(frame->str("stage") + ":" + frame->str("status"));
      if (frame->type() == "reasoning_step") {
        steps.push_back(frame->str("type"));
        CHECK(frame->uint("iteration") == 1);
      }
    }
    CHECK(stages
          == std::vector<std::string>{
            "reasoning:started", "reasoning:completed", "responding:started",
            "responding:completed"});
    CHECK(steps
          == std::vector<std::string>{"thought", "action", "observation"});
    auto step = [&](const char* kind) {
      auto it = std::find_if(run.begin(), run.end(), [&](const ws_frame* f) {
        return f->type() == "reasoning_step" && f->str("type") == kind;
      });
      return (*it)->str("content");
    };
    CHECK(step("action") == "calculator((17+4)*3)");
    CHECK(step("observation") == "63");
    auto complete = std::find_if(run.begin(), run.end(), [](const ws_frame* f) {
      return f->type() == "reasoning_complete";
    });
    REQUIRE(complete != run.end());
    CHECK(complete - run.begin() < static_cast<long>(run.size()) - 1);
  }

  SECTION("one thinking chunk precedes the answer chunks; the last is "
          "marked done") {
    std::vector<const ws_frame*> thinking, answer;
    for (const auto* frame : run)
      if (frame->type() == "chunk")
        (frame->boolean("thinking") ? thinking : answer).push_back(frame);
    REQUIRE(thinking.size() == 1);
    REQUIRE(answer.size() >= 2);
    CHECK(thinking[0]->seq() < answer[0]->seq());
    for (size_t i = 0; i + 1 < answer.size(); ++i)
      CHECK_FALSE(answer[i]->boolean("done"));
    CHECK(answer.back()->boolean("done"));
    const auto& done = *run.back();
    CHECK(done.str("thinking") == thinking[0]->str("content"));
    CHECK_FALSE(done.str("message_id").empty());
    // Words: 3 in "What is (17+4)*3?", one per answer chunk.
    auto n = std::to_string(answer.size());
    auto total = std::to_string(3 + answer.size());
    CHECK(to_json(done.at("usage"))
          == R"({"prompt_tokens":3,"completion_tokens":)" + n
               + R"(,"total_tokens":)" + total + "}");
  }

  SECTION("nothing of the run follows done") {
    auto after = ws.read_until_fence();
    INFO("first frame after done: "
         << (after.empty() ? "-" : after.front().describe()));
    CHECK(after.empty());
  }
  check_clean_exit(srv, {&ws});
}

TEST_CASE("without reasoning a run has no reasoning steps and no thinking",
          "[integration]") {
  server_process srv{{"--token-interval-ms", "1"}};
  ws_client ws{srv.port()};
  ws.read_greeting();
  ws.send_text(chat_frame(question, R"("enable_reasoning":false)"));
  auto frames = ws.read_until("done");
  auto run = frames_of_run(frames, frames.front().run_id());
  check_answered_63(run);
  for (const auto* frame : run) {
    CHECK(frame->type() != "reasoning_step");
    if (frame->type() == "chunk")
      CHECK_FALSE(frame->boolean("thinking"));
  }
  CHECK_FALSE(run[1]->boolean("enable_reasoning"));
  CHECK(run.back()->str("thinking").empty());
}
TEST_CASE("pong echoes the ping's timestamp as the same JSON value",
          "[integration]") {
  server_process srv;
  ws_client ws{srv.port()};
  ws.read_greeting();
  auto pong_for = [&](const std::string& frame) {
    auto before = unix_now_ms();
    ws.send_text(frame);
    auto pong = ws.read_frame();
    INFO("sent " << frame);
    REQUIRE(pong.type() == "pong");
    const auto& server_time = pong.at("server_time");
    REQUIRE(server_time.IsInt64());
    // Same machine, same clock: the server's time lies within the exchange.
    CHECK(server_time.GetInt64() >= before - 1000);
    CHECK(server_time.GetInt64() <= unix_now_ms() + 1000);
    return to_json(pong.at("timestamp"));
  };
  CHECK(pong_for(R"({"type":"ping","payload":{"timestamp":1712345678901}})")
        == "1712345678901");
  CHECK(pong_for(R"({"type":"ping","payload":{"timestamp":-2.5}})") == "-2.5");
  CHECK(pong_for(R"({"type":"ping","payload":{"timestamp":"t-1"}})")
        == R"("t-1")");
  CHECK(pong_for(R"({"type":"ping","payload":{"timestamp":)"
                 R"({"a": [1, 2, {"b": null}], "s": "x\"y"}}})")
        == R"({"a":[1,2,{"b":null}],"s":"x\"y"})");
  CHECK(pong_for(R"({"type":"ping","payload":{}})") == "null");
  CHECK(pong_for(R"({"type":"ping"})") == "null");
  // `data` is a synonym of `payload`.
  CHECK(pong_for(R"({"type":"ping","data":{"timestamp":7}})") == "7");
}
TEST_CASE("ten connections chatting at once each get their own whole run",
          "[integration]") {
  server_process srv{{"--token-interval-ms", "0"}};
  std::vector<std::unique_ptr<ws_client>> clients;
  for (int i = 0; i < 10; ++i) {
    clients.push_back(std::make_unique<ws_client>(srv.port()));
    clients.back()->read_greeting();
  }
  for (auto& ws : clients)
    ws->send_text(chat_frame(question));
  std::vector<std::string> run_ids;
  for (auto& ws : clients) {
    auto frames = ws->read_until("done");
    auto run_id = frames.back().run_id();
    auto run = frames_of_run(frames, run_id);
    REQUIRE(run.size() == frames.size());
    check_answered_63(run);
    run_ids.push_back(run_id);
  }
  std::sort(run_ids.begin(), run_ids.end());
  CHECK(std::adjacent_find(run_ids.begin(), run_ids.end()) == run_ids.end());
  for (auto& ws : clients)
    CHECK(ws->read_until_fence().empty());
}
