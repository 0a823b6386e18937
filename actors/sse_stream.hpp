// The SSE stream actor: one per `GET /api/agent/{run_id}/stream` (or
// `POST /api/agent/run_agent?stream=true`). It subscribes to one run through
// the chat registry, writes the frames the client missed (after
// Last-Event-ID) and then the live ones, each seq once and in order, and ends
// the response after the terminal frame. While nothing happens it writes a
// keep-alive comment, so proxies do not close an idle stream.
//
//   transport --spawn--> sse_stream --subscribe/run--> chat_registry
//   chat_session --event_frame--> sse_stream --SSE text--> stream_sink
#pragma once

#include <chrono>
#include <optional>

#include <caf/fwd.hpp>

#include "actors/interfaces.hpp"
#include "actors/options.hpp"
#include "actors/stream_sink.hpp"

namespace parley {

struct sse_plan {
  /// The run to follow; with `start`, the run to start (its id is in there).
  std::string run_id;
  /// The user asking; the run must be theirs.
  std::string owner;
  uint64_t last_seq = 0;
  std::optional<run_request> start;
  std::chrono::milliseconds keep_alive{15000};
};

sse_stream_actor spawn_sse_stream(caf::actor_system& sys,
                                  chat_registry_actor chats,
                                  stream_sink_ptr sink, sse_plan plan,
                                  server_options options);

} // namespace parley
