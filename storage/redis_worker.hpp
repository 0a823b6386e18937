// One Redis connection as an actor: a detached actor (its own thread, so its
// blocking hiredis calls stall no scheduler thread) that answers every
// store_actor message. The front actor of redis_store.cpp delegates to it,
// so it replies to the original sender.
//
// Run steps (run_open, run_fin: the writes every run makes) are pipelined:
// a step waits in `pending` until a flush marker the worker sent itself
// comes through its mailbox, so every step that arrived while the worker
// was waiting on Redis goes out in one round trip. Any other message
// flushes the pending steps first: the connection still sees every request
// in the order the worker received it.
#pragma once

#include <memory>
#include <vector>

#include "actors/interfaces.hpp"
#include "storage/redis_connection.hpp"
#include "storage/redis_ops.hpp"
#include "storage/redis_store.hpp"

namespace parley {

/// A worker takes the store's messages and its own flush marker.
using redis_worker_actor = store_actor::extend<caf::reacts_to<flush_atom>>;

struct redis_worker_state {
  struct pending_step {
    redis_ops::run_step step;
    caf::typed_response_promise<caf::ok_atom> promise;
  };

  std::unique_ptr<redis_connection> conn;
  std::vector<pending_step> pending;

  static inline const char* name = "redis_worker";
};

/// Spawn with caf::detached: every handler blocks on Redis for up to
/// cfg.io_timeout.
redis_worker_actor::behavior_type
redis_worker(redis_worker_actor::stateful_pointer<redis_worker_state> self,
             redis_store_config cfg);

} // namespace parley
