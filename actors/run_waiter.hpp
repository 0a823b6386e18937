// The run waiter: one per REST call that waits for a whole answer
// (POST /api/chat/send). It starts the run as its subscriber, collects the
// frames and replies with all of them after the terminal one, so the HTTP
// side only formats them (protocol/run_summary.hpp).
#pragma once

#include <caf/fwd.hpp>

#include "actors/interfaces.hpp"
#include "actors/options.hpp"

namespace parley {

run_waiter_actor spawn_run_waiter(caf::actor_system& sys,
                                  chat_registry_actor chats,
                                  server_options options);

} // namespace parley
