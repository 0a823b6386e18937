// The in-memory store: everything the Redis store keeps, in maps owned by one
// event-based actor. For tests and `--store memory`; gone at exit.
#pragma once

#include <caf/fwd.hpp>

#include "actors/interfaces.hpp"

namespace parley {

store_actor spawn_memory_store(caf::actor_system& sys);

} // namespace parley
