#include "actors/sse_stream.hpp"

#include <caf/all.hpp>

#include "protocol/codec.hpp"

namespace parley {

namespace {

struct sse_stream_state {
  chat_registry_actor chats;
  server_options options;
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

/// Writes the frames not written yet as one piece of text (one socket
/// write for a batch); ends after the terminal one.
void deliver(stream_ptr self, const std::vector<event_frame>& frames) {
  auto& st = self->state;
  std::string text;
  bool ended = false;
  for (auto& frame : frames) {
    if (frame.chat_session_id != st.plan.run_id || frame.seq <= st.delivered)
      continue;
    st.delivered = frame.seq;
    text += encode_sse(frame);
    if ((ended = frame.terminal))
      break;
  }
  if (text.empty())
    return;
  st.wrote_since_tick = true;
  st.sink->send_text(std::make_shared<const std::string>(std::move(text)));
  if (ended) {
    st.sink->end();
    self->quit();
  }
}

void open(stream_ptr self, const std::vector<event_frame>& frames) {
  auto& st = self->state;
  st.opened = true;
  st.sink->open(st.plan.run_id);
  deliver(self, frames);
  auto early = std::move(st.early);
  deliver(self, early);
}

/// A run that already ended sends no terminal frame any more: when the
/// client has seen everything up to its last seq (a reconnect after the
/// end), the stream ends here instead of waiting forever.
void end_if_over(stream_ptr self) {
  auto& st = self->state;
  self
    ->request(st.chats, st.options.store_timeout, status_atom::value,
              st.plan.owner, st.plan.run_id)
    .then(
      [self](const run_record& rec) {
        auto& st = self->state;
        if (is_final(rec.status) && rec.last_seq <= st.delivered) {
          st.sink->end();
          self->quit();
        }
      },
      [](const caf::error&) {
        // The stream goes on; its run's terminal frame still ends it.
      });
}

auto refuse(stream_ptr self) {
  return [self](const caf::error& err) {
    self->state.sink->refuse(to_error_code(err), error_message(err),
                             error_field(err));
    self->quit();
  };
}

/// Follows the run, first writing what the client missed.
void subscribe(stream_ptr self) {
  auto& st = self->state;
  self
    ->request(st.chats, st.options.store_timeout, subscribe_atom::value,
              caf::actor_cast<subscriber_actor>(self), st.plan.owner,
              std::string{}, st.plan.run_id, st.delivered)
    .then(
      [self](const std::vector<event_frame>& xs) {
        open(self, xs);
        end_if_over(self);
      },
      refuse(self));
}

} // namespace

sse_stream_actor spawn_sse_stream(caf::actor_system& sys,
                                  chat_registry_actor chats,
                                  stream_sink_ptr sink, sse_plan plan,
                                  server_options options) {
  auto behavior
    = [](stream_ptr self, chat_registry_actor chats, stream_sink_ptr sink,
         sse_plan plan,
         server_options options) -> sse_stream_actor::behavior_type {
    auto& st = self->state;
    st.chats = std::move(chats);
    st.options = std::move(options);
    st.sink = std::move(sink);
    st.plan = std::move(plan);
    st.delivered = st.plan.last_seq;
    // The stream ends with the server: its registry going away ends it.
    self->monitor(st.chats);
    self->set_down_handler([self](const caf::down_msg&) {
      self->state.sink->end();
      self->quit();
    });
    if (st.plan.start) {
      self
        ->request(st.chats, st.options.store_timeout, run_atom::value,
                  *st.plan.start, caf::actor_cast<subscriber_actor>(self))
        .then(
          [self](const run_ticket& ticket) {
            // A repeated id found its run: follow it like a reconnect.
            if (ticket.created)
              open(self, {});
            else
              subscribe(self);
          },
          refuse(self));
    } else {
      subscribe(self);
    }
    self->delayed_send(self, st.plan.keep_alive, heartbeat_atom::value);
    return {
      [self](const frame_batch& batch) {
        auto& st = self->state;
        if (st.opened)
          deliver(self, batch.frames);
        else
          st.early.insert(st.early.end(), batch.frames.begin(),
                          batch.frames.end());
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
  return sys.spawn(behavior, std::move(chats), std::move(sink), std::move(plan),
                   std::move(options));
}

} // namespace parley
