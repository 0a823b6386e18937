// Start-up recovery: runs that were queued or running when the last process
// died are ended as `interrupted` (a terminal status with a reason), with a
// closing `error` event so a client that resumes their stream sees an end
// instead of waiting forever. One node owns its store here; in a cluster each
// node needs its own store prefix (--redis-prefix) for this to be exact.
#pragma once

#include <caf/fwd.hpp>

#include "actors/interfaces.hpp"
#include "actors/options.hpp"

namespace parley {

/// Ends every live run in `store` that this node (options.node_id) ran as
/// interrupted, then quits. Logs what it
/// did; a store that does not answer leaves the runs for the next start.
void spawn_run_recovery(caf::actor_system& sys, store_actor store,
                        server_options options, logger_ptr log);

} // namespace parley
