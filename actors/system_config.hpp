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

} // namespace parley
