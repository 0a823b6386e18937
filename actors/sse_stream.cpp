#include "actors/sse_stream.hpp"

#include <caf/all.hpp>

#include "protocol/codec.hpp"

namespace parley {

namespace {

struct sse_stream_state {
  stream_sink_ptr sink;
  sse_plan plan;
  bool opened = false;
  /// The highest seq written; replays and live frames may overlap.
  uint64_t delivered = 0;
  /// Frames that arrived before the stream was opened.
  std::vector<event_frame> early;
  bool wrote_since_tick = false;

  static inline const char* name = "sse_stream";
};

using stream_ptr = sse_stream_actor::stateful_pointer<sse_stream_state>;

/// Writes `frame` unless it was already written; ends on the terminal one.
void deliver(stream_ptr self, const event_frame& frame) {
  auto& st = self->state;
  if (frame.chat_session_id != st.plan.run_id || frame.seq <= st.delivered)
    return;
  st.delivered = frame.seq;
  st.wrote_since_tick = true;
  st.sink->send_text(std::make_shared<const std::string>(encode_sse(frame)));
  if (frame.terminal) {
    st.sink->end();
    self->quit();
  }
}

void open(stream_ptr self, const std::vector<event_frame>& frames) {
  auto& st = self->state;
  st.opened = true;
  st.sink->open(st.plan.run_id);
  for (auto& frame : frames)
    deliver(self, frame);
  auto early = std::move(st.early);
  for (auto& frame : early)
    deliver(self, frame);
}

auto refuse(stream_ptr self) {
  return [self](const caf::error& err) {
    self->state.sink->refuse(to_error_code(err), error_message(err),
                             error_field(err));
    self->quit();
  };
}

} // namespace

sse_stream_actor spawn_sse_stream(caf::actor_system& sys,
                                  chat_registry_actor chats,
                                  stream_sink_ptr sink, sse_plan plan,
                                  server_options options) {
  auto behavior = [](stream_ptr self, chat_registry_actor chats,
                     stream_sink_ptr sink, sse_plan plan,
                     server_options options) -> sse_stream_actor::behavior_type {
    auto& st = self->state;
    st.sink = std::move(sink);
    st.plan = std::move(plan);
    st.delivered = st.plan.last_seq;
    auto me = caf::actor_cast<subscriber_actor>(self);
    if (st.plan.start) {
      self
        ->request(chats, options.store_timeout, run_atom::value,
                  *st.plan.start, me)
        .then([self](const run_ticket&) { open(self, {}); }, refuse(self));
    } else {
      self
        ->request(chats, options.store_timeout, subscribe_atom::value, me,
                  std::string{}, st.plan.run_id, st.plan.last_seq)
        .then([self](const std::vector<event_frame>& xs) { open(self, xs); },
              refuse(self));
    }
    self->delayed_send(self, st.plan.keep_alive, heartbeat_atom::value);
    return {
      [self](event_frame& frame) {
        auto& st = self->state;
        if (st.opened)
          deliver(self, frame);
        else
          st.early.push_back(std::move(frame));
      },
      [self](heartbeat_atom) {
        auto& st = self->state;
        if (st.opened && !st.wrote_since_tick)
          st.sink->send_text(
            std::make_shared<const std::string>(": keep-alive\n\n"));
        st.wrote_since_tick = false;
        self->delayed_send(self, st.plan.keep_alive, heartbeat_atom::value);
      },
      [self](closed_atom) { self->quit(); },
    };
  };
  return sys.spawn(behavior, std::move(chats), std::move(sink),
                   std::move(plan), std::move(options));
}

} // namespace parley
