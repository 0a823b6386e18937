// The Redis store: the same store_actor as the memory store, kept in Redis so
// it outlives the process and can be shared. A front actor routes every
// request to one of a few detached workers, each owning one hiredis
// connection (blocking calls never run on the scheduler's threads):
//
//   caller --store_actor msg--> redis_store (front, event-based)
//                                  | delegate, by affinity key:
//                                  |   run id (runs, events), kind
//                                  |   (resources), conversation (ev_drop)
//                                  v
//                 redis_worker x cfg.connections (detached, one
//                 redisContext each) --reply--> caller
//
// The key layout, the Lua scripts and the failure behaviour are described in
// docs/storage.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <caf/fwd.hpp>

#include "actors/interfaces.hpp"
#include "actors/options.hpp"

namespace parley {

struct redis_store_config {
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  int db = 0;
  /// Every key starts with it, so several deployments can share one Redis.
  std::string prefix = "parley:";
  /// Detached workers, each with its own connection (and thread).
  size_t connections = 2;
  /// Connect, send and receive timeout of each call: a request answers
  /// storage_unavailable after at most about this long.
  std::chrono::milliseconds io_timeout{2000};
  /// How long a finished run's event log is kept (EXPIRE at run_fin).
  std::chrono::seconds event_retention{7 * 24 * 3600};
  logger_ptr log;
};

/// Parses redis://host:port/db (also redis://host, default port 6379, db 0;
/// an IPv6 host goes in brackets: redis://[::1]:6379). Credentials and
/// query strings are not supported and make it fail.
std::optional<redis_store_config> parse_redis_url(std::string_view url);

/// Spawns the front actor and its cfg.connections workers. Connections are
/// made on the first request; while Redis is unreachable requests answer
/// storage_unavailable and the next ones try again (with backoff).
store_actor spawn_redis_store(caf::actor_system& sys, redis_store_config cfg);

} // namespace parley
