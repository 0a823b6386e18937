#include "tests/actors/fixture.hpp"

#include <catch2/catch.hpp>

namespace parley::testing {

std::vector<frame> recording_sink::frames() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<frame> out;
  for (auto& text : texts_) {
    frame f;
    f.json = text;
    f.doc.Parse(text.c_str());
    REQUIRE_FALSE(f.doc.HasParseError());
    f.type = f.doc["type"].GetString();
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<frame> recording_sink::frames_of(const std::string& run_id) const {
  std::vector<frame> out;
  for (auto& f : frames())
    if (f.doc["data"].IsObject() && f.run() == run_id && f.type != "subscribed")
      out.push_back(std::move(f));
  return out;
}

std::vector<std::string>
recording_sink::types_of(const std::string& run_id) const {
  std::vector<std::string> out;
  for (auto& f : frames_of(run_id))
    out.push_back(f.type);
  return out;
}

std::string recording_sink::run_id(size_t n) const {
  for (auto& f : frames())
    if (f.type == "chat_session_start" && n-- == 0)
      return f.run();
  return {};
}

test_config::test_config() {
  register_parley_types(*this);
  set("scheduler.policy", caf::atom("testing"));
  set("logger.verbosity", caf::atom("quiet"));
}

fixture::fixture()
  : sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())) {
  opts.token_interval = std::chrono::milliseconds{10};
  opts.heartbeat = std::chrono::seconds{0};
  // Far beyond any time a test lets pass, so no request times out.
  opts.store_timeout = std::chrono::hours{24};
  store = spawn_memory_store(sys);
  chats = spawn_chat_registry(sys, chat_session_deps{store, opts, nullptr});
  connections = spawn_connection_registry(sys);
  run();
}

fixture::~fixture() {
  // The actor system waits for every actor in its destructor, and only this
  // thread runs them: end them all here.
  for (auto& session : sessions)
    self->send_exit(session, caf::exit_reason::user_shutdown);
  self->send_exit(chats, caf::exit_reason::user_shutdown);
  self->send_exit(connections, caf::exit_reason::user_shutdown);
  self->send_exit(store, caf::exit_reason::user_shutdown);
  run();
  finish_runs();
}

fixture::client fixture::connect(std::string session_id) {
  auto sink = std::make_shared<recording_sink>();
  auto actor = spawn_ws_session(
    sys, ws_session_deps{chats, connections, opts, nullptr}, sink,
    std::move(session_id), std::string{}, "researcher");
  sessions.push_back(actor);
  run();
  return {actor, sink};
}

void fixture::finish_runs(size_t max_steps) {
  run();
  for (size_t i = 0; i < max_steps && sched.has_pending_timeout(); ++i) {
    sched.trigger_timeouts();
    run();
  }
}

run_record fixture::run_in_store(const std::string& id) {
  run_record out;
  auto handle = self->request(store, caf::infinite, run_get_atom::value, id);
  run();
  handle.receive([&](run_record& rec) { out = std::move(rec); },
                 [&](caf::error& err) { FAIL(sys.render(err)); });
  return out;
}

std::vector<resource_doc> fixture::messages_in_store(const std::string& conv) {
  std::vector<resource_doc> out;
  resource_query query{"messages", "conversation_id", conv, 0, 1000};
  auto handle = self->request(store, caf::infinite, res_list_atom::value,
                              std::move(query));
  run();
  handle.receive([&](resource_page& page) { out = std::move(page.items); },
                 [&](caf::error& err) { FAIL(sys.render(err)); });
  return out;
}

std::vector<std::string> fixture::connection_ids() {
  std::vector<std::string> out;
  auto handle = self->request(connections, caf::infinite, list_atom::value);
  run();
  handle.receive([&](std::vector<std::string>& xs) { out = std::move(xs); },
                 [&](caf::error& err) { FAIL(sys.render(err)); });
  return out;
}

} // namespace parley::testing
