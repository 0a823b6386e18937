// Sessions, runs and registries together, deterministically: every step of a
// run waits for the test to let a token interval pass.
#include <algorithm>

#include <catch2/catch.hpp>

#include "protocol/codec.hpp"
#include "protocol/ids.hpp"

#include "tests/actors/fixture.hpp"

using namespace parley;
using namespace parley::testing;

namespace {

chat_request chat(std::string message, std::string client_msg_id = {}) {
  chat_request req;
  req.message = std::move(message);
  req.client_msg_id = std::move(client_msg_id);
  return req;
}

bool contains(const std::vector<std::string>& xs, const std::string& x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

/// Seq numbers run 1, 2, 3 ... without gaps or repeats.
void require_contiguous(const std::vector<frame>& frames) {
  for (size_t i = 0; i < frames.size(); ++i)
    REQUIRE(frames[i].seq() == i + 1);
}

} // namespace

TEST_CASE_METHOD(fixture, "a chat streams a full answer that is saved",
                 "[actors][session]") {
  auto tab = connect("tab-1");
  auto greeting = tab.sink->frames();
  REQUIRE(greeting.size() == 2);
  CHECK(greeting[0].type == "connected");
  CHECK(greeting[1].type == "session_start");
  CHECK(greeting[0].str("session_id") == "tab-1");

  caf::anon_send(tab.actor, chat("What is (17+4)*3?"));
  finish_runs();
  auto run_id = tab.sink->run_id();
  REQUIRE_FALSE(run_id.empty());
  auto frames = tab.sink->frames_of(run_id);
  require_contiguous(frames);
  auto types = tab.sink->types_of(run_id);
  CHECK(types.front() == "chat_session_start");
  CHECK(frames.front().str("conversation_id") == "tab-1");
  CHECK(contains(types, "reasoning_step"));
  CHECK(contains(types, "chunk"));
  REQUIRE(types.back() == "done");
  auto answer = frames.back().str("content");
  CHECK(answer.find("63") != std::string::npos);
  CHECK_FALSE(frames.back().str("message_id").empty());

  auto rec = run_in_store(run_id);
  CHECK(rec.status == run_status::complete);
  CHECK(rec.result == answer);
  CHECK(rec.last_seq == frames.size());
  auto messages = messages_in_store("tab-1");
  REQUIRE(messages.size() == 2);
  auto has = [](const resource_doc& doc, const std::string& member) {
    return doc.json.find(member) != std::string::npos;
  };
  CHECK(has(messages[0], R"("role":"user")"));
  CHECK(has(messages[0], R"("content":"What is (17+4)*3?")"));
  CHECK(has(messages[1], R"("role":"assistant")"));
  CHECK(has(messages[1], R"("content":")" + json_escape(answer) + "\""));
  CHECK(messages[1].id == frames.back().str("message_id"));
}

TEST_CASE_METHOD(fixture,
                 "an unpaced run reaches its connection in three hand-overs, "
                 "every frame in order",
                 "[actors][session]") {
  // Unpaced, the agent sends all it has in one message, and the session
  // hands the whole batch to the socket at once.
  self->send_exit(chats, caf::exit_reason::user_shutdown);
  opts.token_interval = std::chrono::milliseconds{0};
  chats = spawn_chat_registry(sys, chat_session_deps{store, opts, nullptr});
  auto tab = connect("tab-1");
  auto greeting = tab.sink->hand_overs();
  caf::anon_send(tab.actor, chat("What is (17+4)*3?"));
  run();
  auto run_id = tab.sink->run_id();
  auto frames = tab.sink->frames_of(run_id);
  require_contiguous(frames);
  REQUIRE(frames.size() > 10);
  CHECK(frames.front().type == "chat_session_start");
  CHECK(frames.back().type == "done");
  // chat_session_start; everything up to the answer; `done` once stored.
  CHECK(tab.sink->hand_overs() - greeting == 3);
  CHECK(run_in_store(run_id).last_seq == frames.size());
}

TEST_CASE_METHOD(fixture,
                 "every frame of a run says when it was made, in order",
                 "[actors][session]") {
  auto before = unix_time_us();
  auto tab = connect("tab-1");
  caf::anon_send(tab.actor, chat("What is (17+4)*3?"));
  finish_runs();
  auto after = unix_time_us();
  auto frames = tab.sink->frames_of(tab.sink->run_id());
  REQUIRE(frames.size() > 10);
  int64_t previous = before;
  for (auto& f : frames) {
    INFO(f.json);
    REQUIRE(f.data()["time_us"].IsInt64());
    auto made = f.data()["time_us"].GetInt64();
    // Played (or, for the session's own events, numbered) between the two
    // readings, never before the frame ahead of it.
    CHECK(made >= previous);
    CHECK(made <= after);
    previous = made;
  }
}

TEST_CASE_METHOD(fixture, "cancel between two steps: nothing after cancelled",
                 "[actors][cancel]") {
  auto tab = connect("tab-1");
  caf::anon_send(tab.actor, chat("Count the words in this rather long question "
                                 "about nothing in particular"));
  run();
  for (int i = 0; i < 12; ++i)
    step();
  auto run_id = tab.sink->run_id();
  auto before = tab.sink->frames_of(run_id).size();
  REQUIRE(before >= 5);
  caf::anon_send(tab.actor, cancel_request{});
  run();
  finish_runs();
  auto types = tab.sink->types_of(run_id);
  // The step that was already queued when cancel arrived may not add more
  // than itself: cancel lands between two steps.
  REQUIRE(types.size() <= before + 1);
  REQUIRE(types.back() == "cancelled");
  CHECK(std::count(types.begin(), types.end(), "done") == 0);
  require_contiguous(tab.sink->frames_of(run_id));
  auto rec = run_in_store(run_id);
  CHECK(rec.status == run_status::cancelled);
}

TEST_CASE_METHOD(fixture, "a second chat auto-cancels the first",
                 "[actors][cancel]") {
  auto tab = connect("tab-1");
  caf::anon_send(tab.actor, chat("What is 2+2?"));
  run();
  step();
  step();
  caf::anon_send(tab.actor, chat("What is 3*3?"));
  run();
  finish_runs();
  auto first = tab.sink->run_id(0);
  auto second = tab.sink->run_id(1);
  REQUIRE_FALSE(second.empty());
  REQUIRE(first != second);
  CHECK(tab.sink->types_of(first).back() == "cancelled");
  CHECK(tab.sink->types_of(second).back() == "done");
  // The old run's `cancelled` comes before the new run's first frame.
  auto all = tab.sink->frames();
  auto pos = [&](const std::string& run, const std::string& type) {
    for (size_t i = 0; i < all.size(); ++i)
      if (all[i].type == type && all[i].run() == run)
        return i;
    return all.size();
  };
  CHECK(pos(first, "cancelled") < pos(second, "chat_session_start"));
  CHECK(tab.sink->frames_of(second).back().str("content").find("9")
        != std::string::npos);
  CHECK(run_in_store(first).status == run_status::cancelled);
  CHECK(run_in_store(second).status == run_status::complete);
}

TEST_CASE_METHOD(fixture, "two subscribers see the same sequence",
                 "[actors][fanout]") {
  auto writer = connect("tab-1");
  auto follower = connect("tab-2");
  subscribe_request follow;
  follow.conversation_id = "shared";
  caf::anon_send(follower.actor, follow);
  run();
  auto req = chat("What is 6*7?");
  req.conversation_id = "shared";
  caf::anon_send(writer.actor, req);
  run();
  step();
  step();
  // A third tab joins mid-run by run id and replays what it missed.
  auto late = connect("tab-3");
  subscribe_request by_run;
  by_run.chat_session_id = writer.sink->run_id();
  caf::anon_send(late.actor, by_run);
  run();
  finish_runs();
  auto run_id = writer.sink->run_id();
  auto expected = writer.sink->frames_of(run_id);
  REQUIRE(expected.back().type == "done");
  for (auto* sink : {follower.sink.get(), late.sink.get()}) {
    auto got = sink->frames_of(run_id);
    REQUIRE(got.size() == expected.size());
    for (size_t i = 0; i < got.size(); ++i)
      CHECK(got[i].json == expected[i].json);
  }
}

TEST_CASE_METHOD(fixture, "replay after last_seq returns only what was missed",
                 "[actors][fanout]") {
  auto tab = connect("tab-1");
  caf::anon_send(tab.actor, chat("What is 1+1?"));
  finish_runs();
  auto run_id = tab.sink->run_id();
  auto all = tab.sink->frames_of(run_id);
  auto later = connect("tab-2");
  subscribe_request req;
  req.chat_session_id = run_id;
  req.last_seq = 3;
  caf::anon_send(later.actor, req);
  run();
  auto frames = later.sink->frames();
  auto subscribed = std::find_if(frames.begin(), frames.end(), [](auto& f) {
    return f.type == "subscribed";
  });
  REQUIRE(subscribed != frames.end());
  CHECK(subscribed->data()["replayed"].GetUint64() == all.size() - 3);
  auto replayed = later.sink->frames_of(run_id);
  REQUIRE(replayed.size() == all.size() - 3);
  CHECK(replayed.front().seq() == 4);
  CHECK(replayed.back().type == "done");
}

TEST_CASE_METHOD(fixture, "heartbeat timeout ends the session, not its run",
                 "[actors][heartbeat]") {
  opts.heartbeat = std::chrono::seconds{1};
  auto tab = connect("tab-1");
  REQUIRE(connection_ids() == std::vector<std::string>{"tab-1"});
  self->monitor(tab.actor);
  caf::anon_send(tab.actor, chat("What is (17+4)*3?"));
  run();
  step();
  auto run_id = tab.sink->run_id();
  // One period: a ping. The peer never answers.
  sched.advance_time(std::chrono::seconds{1});
  run();
  CHECK(tab.sink->pings() == 1);
  CHECK(tab.sink->close_code() == 0);
  sched.advance_time(std::chrono::seconds{1});
  run();
  sched.advance_time(std::chrono::seconds{1});
  run();
  CHECK(tab.sink->close_code() == 1001);
  bool down = false;
  self->receive([&](caf::down_msg& msg) { down = msg.source == tab.actor; });
  CHECK(down);
  CHECK(connection_ids().empty());
  tab.actor = nullptr;
  // The run goes on to its end and is saved for whoever comes back.
  finish_runs();
  auto rec = run_in_store(run_id);
  CHECK(rec.status == run_status::complete);
  CHECK(rec.result.find("63") != std::string::npos);
  auto back = connect("tab-1-again");
  subscribe_request req;
  req.chat_session_id = run_id;
  caf::anon_send(back.actor, req);
  run();
  auto replayed = back.sink->frames_of(run_id);
  REQUIRE_FALSE(replayed.empty());
  CHECK(replayed.front().type == "chat_session_start");
  CHECK(replayed.back().type == "done");
  require_contiguous(replayed);
}

TEST_CASE_METHOD(fixture, "a peer that answers pings stays connected",
                 "[actors][heartbeat]") {
  opts.heartbeat = std::chrono::seconds{1};
  auto tab = connect("tab-1");
  for (int i = 0; i < 5; ++i) {
    sched.advance_time(std::chrono::seconds{1});
    run();
    caf::anon_send(tab.actor, pong_atom::value);
    run();
  }
  CHECK(tab.sink->pings() == 5);
  CHECK(tab.sink->close_code() == 0);
  CHECK(connection_ids().size() == 1);
}

TEST_CASE_METHOD(fixture, "cancel by client_msg_id before the run id is known",
                 "[actors][cancel]") {
  auto tab = connect("tab-1");
  // Both frames are in the mailbox before the session handled either.
  caf::anon_send(tab.actor, chat("What is 5*5?", "my-msg-1"));
  caf::anon_send(tab.actor, cancel_request{"my-msg-1"});
  run();
  finish_runs();
  auto run_id = tab.sink->run_id();
  auto types = tab.sink->types_of(run_id);
  REQUIRE_FALSE(types.empty());
  CHECK(types.back() == "cancelled");
  CHECK(std::count(types.begin(), types.end(), "done") == 0);
  CHECK(run_in_store(run_id).status == run_status::cancelled);
}

TEST_CASE_METHOD(fixture, "disconnect is not stop, unless the chat asked",
                 "[actors][disconnect]") {
  auto tab = connect("tab-1");
  auto keep = chat("What is 10/4?");
  keep.conversation_id = "keep";
  auto stop = chat("What is 10/5?");
  stop.conversation_id = "stop";
  stop.cancel_on_disconnect = true;
  caf::anon_send(tab.actor, keep);
  run();
  // Sent from another connection so the first is not auto-cancelled.
  auto other = connect("tab-2");
  caf::anon_send(other.actor, stop);
  run();
  step();
  caf::anon_send(tab.actor, closed_atom::value);
  caf::anon_send(other.actor, closed_atom::value);
  run();
  finish_runs();
  auto kept = run_in_store(tab.sink->run_id());
  CHECK(kept.status == run_status::complete);
  CHECK(kept.result.find("2.5") != std::string::npos);
  CHECK(run_in_store(other.sink->run_id()).status == run_status::cancelled);
  CHECK(connection_ids().empty());
}

TEST_CASE_METHOD(fixture, "interrupt cancels every run of the connection",
                 "[actors][cancel]") {
  auto tab = connect("tab-1");
  auto a = chat("What is 1+2?");
  a.conversation_id = "a";
  caf::anon_send(tab.actor, a);
  run();
  step();
  caf::anon_send(tab.actor, interrupt_request{});
  run();
  finish_runs();
  CHECK(tab.sink->types_of(tab.sink->run_id()).back() == "cancelled");
}

TEST_CASE_METHOD(fixture, "bad requests get error frames, the session lives",
                 "[actors][errors]") {
  auto tab = connect("tab-1");
  caf::anon_send(tab.actor, cancel_request{"no-such-run"});
  run();
  caf::anon_send(tab.actor, cancel_request{});
  run();
  caf::anon_send(tab.actor, decode_error{error_code::unknown_type,
                                         "unknown frame type 'x'", "x", ""});
  run();
  subscribe_request sub;
  sub.chat_session_id = "nope";
  caf::anon_send(tab.actor, sub);
  run();
  auto frames = tab.sink->frames();
  std::vector<std::string> codes;
  for (auto& f : frames)
    if (f.type == "error")
      codes.push_back(f.str("code"));
  CHECK(codes
        == std::vector<std::string>{"not_found", "not_found", "unknown_type",
                                    "not_found"});
  caf::anon_send(tab.actor, chat("What is 2*21?"));
  finish_runs();
  CHECK(tab.sink->types_of(tab.sink->run_id()).back() == "done");
}

TEST_CASE_METHOD(fixture, "an unknown agent ends the run with an error",
                 "[actors][errors]") {
  auto tab = connect("tab-1");
  auto req = chat("hello");
  req.agent_name = "oracle";
  caf::anon_send(tab.actor, req);
  finish_runs();
  auto frames = tab.sink->frames_of(tab.sink->run_id());
  REQUIRE(frames.back().type == "error");
  CHECK(frames.back().str("code") == "not_found");
  CHECK(run_in_store(tab.sink->run_id()).status == run_status::failed);
}

TEST_CASE_METHOD(fixture, "ping is answered with the timestamp echoed",
                 "[actors][ping]") {
  auto tab = connect("tab-1");
  caf::anon_send(tab.actor, ping_request{R"({"t":1})"});
  run();
  auto frames = tab.sink->frames();
  REQUIRE(frames.back().type == "pong");
  CHECK(frames.back().data()["timestamp"]["t"].GetInt() == 1);
  CHECK(frames.back().data()["server_time"].GetInt64() > 0);
}

TEST_CASE_METHOD(fixture, "broadcast reaches every connection",
                 "[actors][connections]") {
  auto a = connect("a");
  auto b = connect("b");
  uint64_t sent = 0;
  auto handle = self->request(connections, caf::infinite, broadcast_atom::value,
                              std::string{"hello all"});
  run();
  handle.receive([&](uint64_t n) { sent = n; },
                 [&](caf::error& err) { FAIL(sys.render(err)); });
  CHECK(sent == 2);
  for (auto* sink : {a.sink.get(), b.sink.get()}) {
    auto frames = sink->frames();
    REQUIRE(frames.back().type == "broadcast");
    CHECK(frames.back().str("message") == "hello all");
  }
}
