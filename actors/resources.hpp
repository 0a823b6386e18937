// The resources actor: the behaviour behind every CRUD route. It checks a
// body against its kind's schema (protocol/resources.hpp), gives new objects
// their id and timestamps, and leaves the all-or-nothing parts (unique
// names, references, cascades) to the store, which does each in one step.
// It also resolves prompt templates against the stored modules.
//
//   REST route --create/update/res_*--> resources --res_put/res_del--> store
#pragma once

#include <caf/fwd.hpp>

#include "actors/interfaces.hpp"
#include "actors/options.hpp"

namespace parley {

resources_actor spawn_resources(caf::actor_system& sys, store_actor store,
                                server_options options);

} // namespace parley
