// The deterministic actor harness: CAF's test coordinator (one thread, a
// clock that moves only when told) driven from Catch2, real actors, the real
// in-memory store, and a frame sink that records what a socket would carry.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <rapidjson/document.h>

#include "actors/chat_registry.hpp"
#include "actors/connection_registry.hpp"
#include "actors/system_config.hpp"
#include "actors/ws_session.hpp"
#include "storage/memory_store.hpp"

namespace parley::testing {

/// One decoded server frame.
struct frame {
  std::string type;
  std::string json;
  rapidjson::Document doc;

  const rapidjson::Value& data() const { return doc["data"]; }
  std::string str(const char* key) const {
    auto& d = data();
    return d.HasMember(key) && d[key].IsString() ? d[key].GetString() : "";
  }
  uint64_t seq() const { return data()["seq"].GetUint64(); }
  std::string run() const { return str("chat_session_id"); }
};

/// Records every frame, ping and close a session sends to its "socket".
class recording_sink : public frame_sink {
 public:
  void send_text(std::shared_ptr<const std::string> text) override {
    std::lock_guard<std::mutex> guard{mtx_};
    texts_.push_back(*text);
    ++hand_overs_;
  }
  void
  send_texts(std::vector<std::shared_ptr<const std::string>> texts) override {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& text : texts)
      texts_.push_back(*text);
    ++hand_overs_;
  }
  void send_ping() override {
    std::lock_guard<std::mutex> guard{mtx_};
    ++pings_;
  }
  void close(uint16_t code, std::string reason) override {
    std::lock_guard<std::mutex> guard{mtx_};
    close_code_ = code;
  }

  std::vector<frame> frames() const;
  /// The frames of one run, in the order they arrived.
  std::vector<frame> frames_of(const std::string& run_id) const;
  std::vector<std::string> types_of(const std::string& run_id) const;
  /// The chat_session_id of the n-th chat_session_start (0-based).
  std::string run_id(size_t n = 0) const;
  size_t pings() const { return pings_; }
  /// How often the session handed text to its socket (a batch counts once).
  size_t hand_overs() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return hand_overs_;
  }
  uint16_t close_code() const { return close_code_; }

 private:
  mutable std::mutex mtx_;
  std::vector<std::string> texts_;
  size_t pings_ = 0;
  size_t hand_overs_ = 0;
  uint16_t close_code_ = 0;
};

struct test_config : caf::actor_system_config {
  test_config();
};

struct fixture {
  test_config cfg;
  caf::actor_system sys{cfg};
  caf::scheduler::test_coordinator& sched;
  caf::scoped_actor self{sys};
  server_options opts;
  store_actor store;
  chat_registry_actor chats;
  connection_registry_actor connections;
  /// Every session connect() made, so the destructor can end them.
  std::vector<ws_session_actor> sessions;

  /// `token_interval` 10 ms: every step of a run waits for `step()`.
  fixture();
  ~fixture();

  struct client {
    ws_session_actor actor;
    std::shared_ptr<recording_sink> sink;
  };

  client connect(std::string session_id);
  /// Runs every ready actor until none is left.
  void run() { sched.run(); }
  /// Lets one token interval pass.
  void step() {
    sched.advance_time(opts.token_interval);
    sched.run();
  }
  /// Lets time pass until no run has anything left to say.
  void finish_runs(size_t max_steps = 1000);

  run_record run_in_store(const std::string& id);
  /// The conversation's messages as REST clients list them.
  std::vector<resource_doc> messages_in_store(const std::string& conv);
  std::vector<std::string> connection_ids();
};

} // namespace parley::testing
