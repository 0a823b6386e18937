// The chat session actor: one per conversation. It owns the conversation's
// run in flight (and any queued behind it), numbers every event of a run
// (seq 1, 2, 3 ...), encodes it once and fans the bytes out to the run's
// subscribers and to the conversation's followers. It keeps the event logs
// of recent runs for replay and writes everything to the store in batches.
//
//   registry --run/cancel/subscribe/status--> chat_session --spawn--> agent_run
//   agent_run --run_event--> chat_session --event_frame--> subscribers
//   chat_session --ev_add (batched), run_fin (at the end)--> store
//
// Cancel is decided here, not in the run: the session emits `cancelled`, tells
// the run to stop and ignores anything the run had already sent, so nothing of
// a cancelled run reaches a client after `cancelled`. The terminal frame of a
// run goes out only after the store acknowledged the run's whole log, final
// record and answer.
#pragma once

#include <caf/fwd.hpp>

#include "actors/interfaces.hpp"
#include "actors/options.hpp"

namespace parley {

struct chat_session_deps {
  store_actor store;
  server_options options;
  logger_ptr log;
};

chat_session_actor spawn_chat_session(caf::local_actor* spawner,
                                      std::string conversation_id,
                                      std::string owner, std::string agent_name,
                                      chat_session_deps deps);

} // namespace parley
