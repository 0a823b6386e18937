// The connection registry: every live WebSocket session joins it and is
// monitored, so a session that ends for any reason leaves the count. Serves
// GET /connections and POST /broadcast.
#pragma once

#include <caf/fwd.hpp>

#include "actors/interfaces.hpp"

namespace parley {

connection_registry_actor spawn_connection_registry(caf::actor_system& sys);

} // namespace parley
