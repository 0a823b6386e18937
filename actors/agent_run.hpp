// The agent run actor: one per user message. It asks the agent for the plan
// of its answer and plays it to its chat session one event per step tick.
// Ticks are mailbox messages, so a `cancel` queued behind the current step
// stops the run before the next one; with a token interval of 0 the run
// still yields to its mailbox after every event.
//
//   chat_session --spawn--> agent_run --run_event (one per tick)-->
//   chat_session chat_session --cancel--> agent_run (quits, emits nothing more)
#pragma once

#include <caf/fwd.hpp>

#include "actors/interfaces.hpp"
#include "actors/options.hpp"

namespace parley {

/// Spawns the run of `req` for `parent`, which receives its run_events.
/// Unknown agent names produce one `error` event naming the known agents.
agent_run_actor spawn_agent_run(caf::local_actor* spawner,
                                chat_session_actor parent,
                                const run_request& req,
                                std::chrono::milliseconds token_interval);

} // namespace parley
