// The store under test, memory or Redis, behind the same helpers, so one
// suite of cases checks that both backends behave alike. Real threads: the
// Redis store's workers are detached actors, so this uses CAF's normal
// scheduler and a scoped_actor waiting with a timeout, not the test
// coordinator of tests/actors.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include "actors/interfaces.hpp"
#include "actors/system_config.hpp"
#include "protocol/resources.hpp"
#include "protocol/schema.hpp"
#include "storage/memory_store.hpp"
#include "storage/redis_store.hpp"

#include "tests/storage/redis_server.hpp"

namespace parley::testing {

struct threaded_config : caf::actor_system_config {
  threaded_config() {
    register_parley_types(*this);
    set("logger.verbosity", caf::atom("quiet"));
    set("logger.file-verbosity", caf::atom("quiet"));
  }
};

struct memory_backend {
  store_actor spawn_store(caf::actor_system& sys) {
    return spawn_memory_store(sys);
  }
};

/// A private redis-server per test case.
struct redis_backend {
  redis_server server;

  redis_store_config config() const {
    redis_store_config cfg;
    cfg.port = server.port();
    cfg.io_timeout = std::chrono::milliseconds{500};
    cfg.prefix = "test:";
    return cfg;
  }

  store_actor spawn_store(caf::actor_system& sys) {
    return spawn_redis_store(sys, config());
  }
};

template<class Backend>
struct store_fixture : Backend {
  threaded_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  store_actor store;
  /// More stores a test started (ended with the fixture).
  std::vector<store_actor> others;
  /// Far beyond any answer; a test that measures time sets its own.
  std::chrono::milliseconds timeout{10000};

  store_fixture() { store = this->spawn_store(sys); }

  ~store_fixture() {
    self->send_exit(store, caf::exit_reason::user_shutdown);
    for (auto& x : others)
      self->send_exit(x, caf::exit_reason::user_shutdown);
  }

  /// Keeps `x` until the end of the test.
  store_actor adopt(store_actor x) {
    others.push_back(x);
    return x;
  }

  /// Sends `xs...` to `to` and returns its reply or error.
  template<class Reply, class... Ts>
  caf::expected<Reply> ask_at(const store_actor& to, Ts&&... xs) {
    caf::expected<Reply> out{caf::no_error};
    self->request(to, timeout, std::forward<Ts>(xs)...)
      .receive([&](Reply& x) { out = std::move(x); },
               [&](caf::error& err) { out = std::move(err); });
    return out;
  }

  template<class Reply, class... Ts>
  caf::expected<Reply> ask(Ts&&... xs) {
    return ask_at<Reply>(store, std::forward<Ts>(xs)...);
  }

  caf::expected<resource_doc> put(const std::string& kind,
                                  const std::string& id,
                                  const std::string& body,
                                  put_mode mode = put_mode::create) {
    auto& spec = *find_kind(kind);
    auto checked = validate(spec.schema, body);
    REQUIRE(std::holds_alternative<validated_object>(checked));
    auto& obj = std::get<validated_object>(checked);
    return ask<resource_doc>(res_put_atom::value, make_doc(spec, id, obj, 1, 2),
                             mode, references_of(spec.schema, obj));
  }

  caf::expected<resource_doc> get(const std::string& kind,
                                  const std::string& id) {
    return ask<resource_doc>(res_get_atom::value, kind, id);
  }

  resource_page list(resource_query q) {
    auto page = ask<resource_page>(res_list_atom::value, std::move(q));
    REQUIRE(page);
    return *page;
  }

  caf::expected<caf::ok_atom> remove(const std::string& kind,
                                     const std::string& id) {
    auto& spec = *find_kind(kind);
    return ask<caf::ok_atom>(res_del_atom::value, kind, id, spec.cascades,
                             referrers_of(spec));
  }

  caf::expected<caf::ok_atom> put_run(const run_record& rec) {
    return ask<caf::ok_atom>(run_put_atom::value, rec);
  }

  caf::expected<run_record> get_run(const std::string& id) {
    return ask<run_record>(run_get_atom::value, id);
  }

  caf::expected<caf::ok_atom> add_events(const std::string& run_id,
                                         std::vector<event_frame> xs) {
    return ask<caf::ok_atom>(ev_add_atom::value, run_id, std::move(xs));
  }

  std::vector<event_frame> events(const std::string& run_id, uint64_t after = 0,
                                  uint32_t limit = 1000) {
    auto xs
      = ask<std::vector<event_frame>>(ev_get_atom::value, run_id, after, limit);
    REQUIRE(xs);
    return *xs;
  }

  caf::expected<caf::ok_atom> finish(const run_record& rec,
                                     std::vector<event_frame> xs,
                                     std::vector<message_record> msgs) {
    return ask<caf::ok_atom>(run_fin_atom::value, rec, std::move(xs),
                             std::move(msgs));
  }

  caf::expected<uint64_t> drop(const std::string& conversation_id) {
    return ask<uint64_t>(ev_drop_atom::value, conversation_id);
  }
};

/// Event `seq` of `run`, its text in `json` so copies can be told apart.
inline event_frame event_of(const std::string& run, uint64_t seq,
                            const std::string& text = "x",
                            bool terminal = false) {
  return event_frame{run, seq, terminal ? "done" : "chunk",
                     R"({"type":"chunk","data":{"seq":)" + std::to_string(seq)
                       + R"(,"content":")" + text + R"("}})",
                     terminal};
}

inline std::vector<event_frame> events_of(const std::string& run,
                                          uint64_t first, uint64_t last,
                                          const std::string& text = "x") {
  std::vector<event_frame> out;
  for (auto seq = first; seq <= last; ++seq)
    out.push_back(event_of(run, seq, text));
  return out;
}

inline std::vector<uint64_t> seqs_of(const std::vector<event_frame>& xs) {
  std::vector<uint64_t> out;
  for (auto& x : xs)
    out.push_back(x.seq);
  return out;
}

inline run_record run_of(const std::string& id, const std::string& conv,
                         run_status status = run_status::running) {
  run_record rec;
  rec.id = id;
  rec.conversation_id = conv;
  rec.agent_name = "researcher";
  rec.query = "why?";
  rec.status = status;
  rec.created_at_ms = 1000;
  rec.updated_at_ms = 2000;
  return rec;
}

} // namespace parley::testing
