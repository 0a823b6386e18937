// One Redis connection as an actor: a detached actor (its own thread, so its
// blocking hiredis calls stall no scheduler thread) that answers every
// store_actor message with one or two round trips. The front actor of
// redis_store.cpp delegates to it, so it replies to the original sender.
#pragma once

#include <memory>

#include "actors/interfaces.hpp"
#include "storage/redis_connection.hpp"
#include "storage/redis_store.hpp"

namespace parley {

struct redis_worker_state {
  std::unique_ptr<redis_connection> conn;

  static inline const char* name = "redis_worker";
};

/// Spawn with caf::detached: every handler blocks on Redis for up to
/// cfg.io_timeout.
store_actor::behavior_type
redis_worker(store_actor::stateful_pointer<redis_worker_state> self,
             redis_store_config cfg);

} // namespace parley
