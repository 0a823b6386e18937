// The one actor_system_config of Parley: registers every message type and
// the error category, for parleyd and for every test fixture alike.
#pragma once

#include <caf/actor_system_config.hpp>

namespace parley {

/// Registers Parley's message types and error category with `cfg`.
void register_parley_types(caf::actor_system_config& cfg);

/// The configuration parleyd runs with.
struct parley_config : caf::actor_system_config {
  parley_config();
};

/// Runs actors on `threads` scheduler threads; 0: one per core (CAF's own
/// default is at least 4, which on a 2-core machine only adds switching).
void set_actor_threads(caf::actor_system_config& cfg, size_t threads);

} // namespace parley
