// A store that goes away while a run streams: the run goes on for its
// clients, and its events, record and answer are written once the store is
// back, not dropped.
#include <atomic>

#include <catch2/catch.hpp>

#include "tests/actors/fixture.hpp"

using namespace parley;
using namespace parley::testing;

namespace {

/// A store in front of the real one that refuses everything while `down`.
store_actor spawn_flaky_store(caf::actor_system& sys, store_actor real,
                              std::shared_ptr<std::atomic<bool>> down) {
  auto proxy = sys.spawn([real, down](caf::event_based_actor* self) {
    self->set_default_handler(
      [self, real, down](caf::scheduled_actor*,
                         caf::message_view& x) -> caf::result<caf::message> {
        if (*down)
          return make_error(error_code::storage_unavailable, "down");
        return self->delegate(caf::actor_cast<caf::actor>(real),
                              x.move_content_to_message());
      });
    // Everything goes through the default handler.
    return caf::behavior{[](caf::unit_t) {}};
  });
  return caf::actor_cast<store_actor>(proxy);
}

/// A chat tab whose registry talks to the store through the flaky proxy.
struct outage_fixture : fixture {
  std::shared_ptr<std::atomic<bool>> down
    = std::make_shared<std::atomic<bool>>(false);
  store_actor flaky = spawn_flaky_store(sys, store, down);
  chat_registry_actor registry
    = spawn_chat_registry(sys, chat_session_deps{flaky, opts, {}});
  std::shared_ptr<recording_sink> sink = std::make_shared<recording_sink>();
  ws_session_actor tab;

  /// Opens tab `id` and sends the question its run answers with 63.
  void ask_in(const std::string& id) {
    tab = spawn_ws_session(
      sys, ws_session_deps{registry, connections, opts, nullptr}, sink, id, "",
      "researcher");
    run();
    caf::anon_send(tab,
                   chat_request{"What is (17+4)*3?", {}, {}, {}, true, false});
    run();
  }

  ~outage_fixture() {
    self->send_exit(tab, caf::exit_reason::user_shutdown);
    self->send_exit(registry, caf::exit_reason::user_shutdown);
    self->send_exit(flaky, caf::exit_reason::user_shutdown);
    run();
  }
};

} // namespace

TEST_CASE_METHOD(outage_fixture,
                 "a run that ends while the store is down is saved when it "
                 "comes back",
                 "[actors][store][outage]") {
  ask_in("tab-9");
  step();
  *down = true;
  finish_runs();
  // The client saw the whole run regardless.
  auto run_id = sink->run_id();
  auto types = sink->types_of(run_id);
  REQUIRE_FALSE(types.empty());
  CHECK(types.back() == "done");
  auto lookup
    = self->request(store, caf::infinite, run_get_atom::value, run_id);
  run();
  bool saved_while_down = false;
  lookup.receive(
    [&](run_record& rec) {
      saved_while_down = rec.status == run_status::complete;
    },
    [&](caf::error&) {});
  CHECK_FALSE(saved_while_down);
  *down = false;
  sched.advance_time(opts.store_retry);
  run();
  auto rec = run_in_store(run_id);
  CHECK(rec.status == run_status::complete);
  CHECK(rec.last_seq == types.size());
  auto events = self->request(store, caf::infinite, ev_get_atom::value, run_id,
                              uint64_t{0}, uint32_t{1000});
  run();
  events.receive(
    [&](std::vector<event_frame>& xs) { CHECK(xs.size() == types.size()); },
    [&](caf::error& err) { FAIL(sys.render(err)); });
  CHECK(messages_in_store("tab-9").size() == 2);
}

TEST_CASE_METHOD(outage_fixture,
                 "a run the store cannot open is refused and leaves nothing "
                 "behind; the next one works",
                 "[actors][store][outage]") {
  *down = true;
  ask_in("tab-7");
  finish_runs();
  // The client is told, and no run began: no chat_session_start, no
  // question without its run.
  auto frames = sink->frames();
  REQUIRE(frames.size() == 3);
  CHECK(frames.back().type == "error");
  CHECK(frames.back().str("code") == "storage_unavailable");
  CHECK(sink->run_id().empty());
  *down = false;
  CHECK(messages_in_store("tab-7").empty());
  // The conversation is not stuck: the next question is answered.
  caf::anon_send(tab,
                 chat_request{"What is (17+4)*3?", {}, {}, {}, true, false});
  finish_runs();
  auto run_id = sink->run_id();
  REQUIRE_FALSE(run_id.empty());
  CHECK(sink->types_of(run_id).back() == "done");
  CHECK(run_in_store(run_id).status == run_status::complete);
  auto messages = messages_in_store("tab-7");
  REQUIRE(messages.size() == 2);
  CHECK(messages[0].json.find(R"("role":"user")") != std::string::npos);
  CHECK(messages[1].json.find(R"("role":"assistant")") != std::string::npos);
}
