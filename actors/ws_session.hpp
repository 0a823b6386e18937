// The WebSocket session actor: one per connection. Its two doors are the
// frames the transport decoded from the socket (chat, ping, cancel,
// interrupt, subscribe, decode_error, pong, closed) and the event frames of
// the runs it follows; everything it says goes out through its frame_sink.
//
//   socket --decoded frame--> ws_session --run/cancel/subscribe-->
//   chat_registry chat_session --event_frame--> ws_session --text--> frame_sink
//   --> socket ws_session --heartbeat tick--> itself: ping, or close a silent
//   peer
//
// Closing the socket ends this actor but not the runs it started (unless a
// chat asked for cancel_on_disconnect): their answers are saved and can be
// replayed by any later connection with `subscribe`.
#pragma once

#include <string>

#include <caf/fwd.hpp>

#include "actors/frame_sink.hpp"
#include "actors/interfaces.hpp"
#include "actors/options.hpp"

namespace parley {

struct ws_session_deps {
  chat_registry_actor chats;
  connection_registry_actor connections;
  server_options options;
  logger_ptr log;
};

/// Spawns the session of one accepted connection. `session_id` names the
/// connection and is the default conversation of its chats; `owner` is the
/// user it authenticated as.
ws_session_actor spawn_ws_session(caf::actor_system& sys, ws_session_deps deps,
                                  frame_sink_ptr sink, std::string session_id,
                                  std::string owner, std::string agent_name);

} // namespace parley
