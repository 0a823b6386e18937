// What every session of one server shares: the actor system, the actors it
// forwards to, the limits it enforces and a source of session ids. Immutable
// after start except the id source, which locks.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/options.hpp"
#include "protocol/ids.hpp"
#include "transport/connection_limit.hpp"
#include "transport/http_routes.hpp"
#include "transport/openapi.hpp"
#include "transport/server.hpp"

namespace parley {

/// One generator for the whole listener, behind a lock: sessions are made
/// on every I/O thread.
class session_id_source {
 public:
  std::string next() {
    std::lock_guard<std::mutex> guard{mtx_};
    return make_uuid(rng_);
  }

 private:
  std::mutex mtx_;
  id_generator rng_;
};

class websocket_session;

/// The open WebSocket sessions, so a stopping server can say goodbye (1001)
/// instead of dropping them. Sessions add themselves once open and remove
/// themselves when destroyed.
class session_set {
 public:
  void add(websocket_session* ptr, std::weak_ptr<websocket_session> weak) {
    std::lock_guard<std::mutex> guard{mtx_};
    sessions_.emplace(ptr, std::move(weak));
  }

  void remove(websocket_session* ptr) {
    std::lock_guard<std::mutex> guard{mtx_};
    sessions_.erase(ptr);
  }

  size_t size() {
    std::lock_guard<std::mutex> guard{mtx_};
    return sessions_.size();
  }

  std::vector<std::shared_ptr<websocket_session>> snapshot() {
    std::vector<std::shared_ptr<websocket_session>> out;
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& [ptr, weak] : sessions_)
      if (auto strong = weak.lock())
        out.push_back(std::move(strong));
    return out;
  }

 private:
  std::mutex mtx_;
  std::unordered_map<websocket_session*, std::weak_ptr<websocket_session>>
    sessions_;
};

struct transport_context {
  transport_context(caf::actor_system& sys, server_config cfg, server_deps deps)
    : sys(sys), cfg(std::move(cfg)), deps(std::move(deps)),
      routes(all_routes()), openapi(make_openapi(routes)),
      connections_per_ip(this->cfg.max_conns_per_ip) {}

  caf::actor_system& sys;
  const server_config cfg;
  const server_deps deps;
  /// The REST routes and the OpenAPI document made from them, once.
  const std::vector<rest_route> routes;
  const std::string openapi;
  session_id_source ids;
  session_set websockets;
  /// Open TCP connections per remote address (--max-conns-per-ip).
  connection_counter connections_per_ip;
  /// Held by everything on the actor side that can post into the I/O
  /// context or owns Asio objects (frame sinks, bridge actors). Destroying
  /// the io_context while a copy exists elsewhere would leave those with
  /// dangling pointers, so the server checks use_count() first.
  const std::shared_ptr<const void> actor_lease = std::make_shared<char>();
};

using transport_context_ptr = std::shared_ptr<transport_context>;

} // namespace parley
