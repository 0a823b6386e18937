#include "actors/ws_session.hpp"

#include <algorithm>
#include <unordered_map>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/recent_keys.hpp"
#include "actors/urgent.hpp"
#include "protocol/codec.hpp"
#include "protocol/ids.hpp"

namespace parley {

namespace {

/// Close code 1001 ("going away"): the peer stopped answering pings.
constexpr uint16_t close_going_away = 1001;

/// A run this connection started and that has not ended yet.
struct started_run {
  std::string conversation_id;
  std::string client_msg_id;
  bool cancel_on_disconnect = false;
  /// Its chat session, once the run's ticket came back: cancels go there
  /// directly.
  chat_session_actor session;
};

struct ws_session_state {
  ws_session_deps deps;
  frame_sink_ptr sink;
  std::string session_id;
  /// The authenticated user: the conversations and runs it reaches are
  /// theirs.
  std::string owner;
  std::string agent_name;
  id_generator rng;
  std::unordered_map<std::string, started_run> runs;
  std::unordered_map<std::string, std::string> run_of_client_msg;
  /// Highest seq delivered per run: a frame that arrives twice (a replay
  /// overlapping the live stream, a run followed twice) goes out once.
  /// Runs that ended are remembered, oldest first, up to 256 (`ended`): past
  /// that a connection that follows thousands of runs would grow forever
  /// (a subscribe to such an old run sends what it asks for again).
  std::unordered_map<std::string, uint64_t> delivered;
  /// The last 256 runs that ended here, whose entries in `delivered` are
  /// kept.
  recent_keys ended{256};

  void remember_ended(const std::string& run_id) {
    if (auto forgotten = ended.push(run_id))
      delivered.erase(*forgotten);
  }

  bool already_delivered(const event_frame& frame) const {
    auto i = delivered.find(frame.chat_session_id);
    return i != delivered.end() && frame.seq <= i->second;
  }
  std::string current_run;
  caf::actor_clock::time_point last_heard;

  static inline const char* name = "ws_session";

  std::string next_run_id() { return make_uuid(rng); }

  void send(std::string text) {
    sink->send_text(std::make_shared<const std::string>(std::move(text)));
  }

  void send_error(error_code code, std::string_view message,
                  std::string_view type, std::string_view field = {}) {
    send(encode_error(code, message, type, field));
  }
};

using session_ptr = ws_session_actor::stateful_pointer<ws_session_state>;

void heard_from_peer(session_ptr self) {
  self->state.last_heard = self->clock().now();
}

/// Replies that carry an error become an `error` frame about `type`.
auto report_error(session_ptr self, std::string type, std::string field = {}) {
  return [self, type, field](const caf::error& err) {
    auto code = to_error_code(err);
    auto text = err.category() == error_category
                  ? self->system().render(err)
                  : "the server could not answer in time ("
                      + self->system().render(err) + ")";
    self->state.send_error(code, text, type, field);
  };
}

/// Takes `frame` for the socket unless this connection already has it.
bool accept_frame(ws_session_state& st, const event_frame& frame) {
  if (st.already_delivered(frame))
    return false;
  st.delivered[frame.chat_session_id] = frame.seq;
  // A run that ended is forgotten, so a long-lived connection does not
  // accumulate every run it ever started.
  if (frame.terminal) {
    st.runs.erase(frame.chat_session_id);
    st.remember_ended(frame.chat_session_id);
  }
  return true;
}

/// Writes the frames the connection does not have yet, in one hand-over
/// to the socket.
void deliver_all(session_ptr self, const std::vector<event_frame>& frames) {
  auto& st = self->state;
  std::vector<std::shared_ptr<const std::string>> texts;
  texts.reserve(frames.size());
  for (auto& frame : frames)
    if (accept_frame(st, frame))
      texts.push_back(std::make_shared<const std::string>(frame.json));
  if (texts.size() == 1)
    st.sink->send_text(std::move(texts.front()));
  else if (!texts.empty())
    st.sink->send_texts(std::move(texts));
}

/// Cancels a run: one this connection started goes straight to its chat
/// session, ahead of the session's queued messages (cancel is what a user
/// waits for); any other run goes through the registry, which checks whose
/// it is.
void cancel_run(session_ptr self, const std::string& run_id) {
  auto& st = self->state;
  auto timeout = st.deps.options.store_timeout;
  auto on_error = report_error(self, "cancel", "chat_session_id");
  if (auto i = st.runs.find(run_id); i != st.runs.end() && i->second.session) {
    request_urgent(self, i->second.session, timeout, cancel_atom::value, run_id,
                   true)
      .then([](const run_record&) {}, on_error);
    return;
  }
  self
    ->request(st.deps.chats, timeout, cancel_atom::value, st.owner, run_id,
              true)
    .then([](const run_record&) {}, on_error);
}

void on_chat(session_ptr self, chat_request& req) {
  auto& st = self->state;
  run_request run;
  run.run_id = st.next_run_id();
  run.conversation_id
    = req.conversation_id.empty() ? st.session_id : req.conversation_id;
  run.agent_name = req.agent_name.empty() ? st.agent_name : req.agent_name;
  run.message = std::move(req.message);
  run.enable_reasoning = req.enable_reasoning;
  run.strategy = multitask_strategy::interrupt;
  run.owner = st.owner;
  // A new message replaces the one in flight. On the same conversation the
  // chat session does that itself (and orders the frames); a run of another
  // conversation is cancelled from here.
  if (auto i = st.runs.find(st.current_run);
      i != st.runs.end() && i->second.conversation_id != run.conversation_id)
    cancel_run(self, st.current_run);
  st.current_run = run.run_id;
  st.runs[run.run_id] = started_run{
    run.conversation_id, req.client_msg_id, req.cancel_on_disconnect, {}};
  if (!req.client_msg_id.empty())
    st.run_of_client_msg[req.client_msg_id] = run.run_id;
  auto run_id = run.run_id;
  self
    ->request(st.deps.chats, st.deps.options.store_timeout, run_atom::value,
              std::move(run), caf::actor_cast<subscriber_actor>(self))
    .then(
      [self, run_id](const run_ticket& ticket) {
        if (auto i = self->state.runs.find(run_id); i != self->state.runs.end())
          i->second.session
            = caf::actor_cast<chat_session_actor>(ticket.session);
      },
      [self, run_id](const caf::error& err) {
        self->state.runs.erase(run_id);
        report_error(self, "chat")(err);
      });
}

void on_cancel(session_ptr self, const cancel_request& req) {
  auto& st = self->state;
  auto run_id = req.id;
  if (auto i = st.run_of_client_msg.find(run_id);
      i != st.run_of_client_msg.end())
    run_id = i->second;
  if (run_id.empty()) {
    auto i = st.runs.find(st.current_run);
    if (i == st.runs.end()) {
      st.send_error(error_code::not_found,
                    "no run of this connection is in flight", "cancel");
      return;
    }
    run_id = st.current_run;
  }
  cancel_run(self, run_id);
}

void on_subscribe(session_ptr self, const subscribe_request& req) {
  auto& st = self->state;
  auto conversation_id = req.conversation_id;
  if (conversation_id.empty() && req.chat_session_id.empty())
    conversation_id = st.session_id;
  self
    ->request(st.deps.chats, st.deps.options.store_timeout,
              subscribe_atom::value, caf::actor_cast<subscriber_actor>(self),
              st.owner, conversation_id, req.chat_session_id, req.last_seq)
    .then(
      [self, req, conversation_id](const std::vector<event_frame>& missed) {
        // Frames this connection already has are not sent twice, and
        // `replayed` counts exactly the frames that follow.
        auto& st = self->state;
        auto fresh = std::count_if(missed.begin(), missed.end(),
                                   [&st](const event_frame& frame) {
                                     return !st.already_delivered(frame);
                                   });
        st.send(encode_subscribed(conversation_id, req.chat_session_id,
                                  req.last_seq, static_cast<size_t>(fresh)));
        deliver_all(self, missed);
      },
      report_error(self, "subscribe",
                   req.chat_session_id.empty() ? "conversation_id"
                                               : "chat_session_id"));
}

/// Runs that asked for it stop with their connection; the rest go on.
void on_closed(session_ptr self) {
  auto& st = self->state;
  for (auto& [id, run] : st.runs)
    if (run.cancel_on_disconnect)
      cancel_run(self, id);
  self->quit();
}

void on_heartbeat(session_ptr self) {
  auto& st = self->state;
  auto period = st.deps.options.heartbeat;
  if (self->clock().now() - st.last_heard > 2 * period) {
    if (st.deps.log)
      st.deps.log->info("session {}: silent for {}s, closing", st.session_id,
                        (2 * period).count());
    st.sink->close(close_going_away, "heartbeat timeout");
    on_closed(self);
    return;
  }
  st.sink->send_ping();
  self->delayed_send(self, period, heartbeat_atom::value);
}

ws_session_actor::behavior_type
ws_session(session_ptr self, ws_session_deps deps, frame_sink_ptr sink,
           std::string session_id, std::string owner, std::string agent_name) {
  auto& st = self->state;
  st.deps = std::move(deps);
  st.sink = std::move(sink);
  st.session_id = std::move(session_id);
  st.owner = std::move(owner);
  st.agent_name = std::move(agent_name);
  heard_from_peer(self);
  for (auto type : {"connected", "session_start"})
    st.send(encode_connected(type, st.session_id, st.agent_name,
                             "Connected to Parley; agent " + st.agent_name
                               + " is ready"));
  self->send(st.deps.connections, join_atom::value, st.session_id,
             caf::actor_cast<ws_session_actor>(self));
  if (st.deps.options.heartbeat.count() > 0)
    self->delayed_send(self, st.deps.options.heartbeat, heartbeat_atom::value);
  return {
    [self](const frame_batch& batch) { deliver_all(self, batch.frames); },
    [self](chat_request& req) {
      heard_from_peer(self);
      on_chat(self, req);
    },
    [self](const ping_request& req) {
      heard_from_peer(self);
      self->state.send(encode_pong(req.timestamp_json, unix_time_ms()));
    },
    [self](const cancel_request& req) {
      heard_from_peer(self);
      on_cancel(self, req);
    },
    [self](const interrupt_request&) {
      heard_from_peer(self);
      for (auto& [id, run] : self->state.runs)
        cancel_run(self, id);
    },
    [self](const subscribe_request& req) {
      heard_from_peer(self);
      on_subscribe(self, req);
    },
    [self](const decode_error& err) {
      heard_from_peer(self);
      self->state.send(encode_error(err));
    },
    [self](pong_atom) { heard_from_peer(self); },
    [self](closed_atom) { on_closed(self); },
    [self](heartbeat_atom) { on_heartbeat(self); },
    [self](broadcast_atom, const std::string& message) {
      self->state.send(encode_broadcast(message, unix_time_ms()));
    },
  };
}

} // namespace

ws_session_actor spawn_ws_session(caf::actor_system& sys, ws_session_deps deps,
                                  frame_sink_ptr sink, std::string session_id,
                                  std::string owner, std::string agent_name) {
  return sys.spawn(ws_session, std::move(deps), std::move(sink),
                   std::move(session_id), std::move(owner),
                   std::move(agent_name));
}

} // namespace parley
