// The agent run actor: one per user message. It asks the agent for the plan
// of its answer and plays it to its chat session. Paced (a token interval
// above 0), it sends one event per step tick; unpaced, it sends what is
// ready in batches of up to 32 events, one message each. Ticks are mailbox
// messages, so a `cancel` queued behind the current step stops the run
// before the next one. The chat session decides cancellation on its side
// too, so whatever a run had already sent is dropped there.
//
//   chat_session --spawn--> agent_run --run_events (a batch per tick)-->
//   chat_session; chat_session --cancel--> agent_run (quits, sends nothing
//   more)
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
