#include "actors/chat_session.hpp"

#include <algorithm>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/agent_run.hpp"
#include "actors/chat_session_state.hpp"
#include "actors/fan_out.hpp"
#include "actors/urgent.hpp"
#include "protocol/codec.hpp"
#include "protocol/ids.hpp"

namespace parley {

namespace {

using session_ptr = chat_session_ptr;

void watch(session_ptr self, const subscriber_actor& sub) {
  if (self->state.monitored.insert(sub.address()).second)
    self->monitor(sub);
}

void add_unique(std::vector<subscriber_actor>& xs, const subscriber_actor& x) {
  if (std::find(xs.begin(), xs.end(), x) == xs.end())
    xs.push_back(x);
}

/// Numbers and encodes one event of `slot` and appends it to the log.
const event_frame& stamp(run_slot& slot, run_event& ev) {
  ev.chat_session_id = slot.record.id;
  ev.seq = slot.log.size() + 1;
  if (ev.time_us == 0)
    ev.time_us = unix_time_us();
  slot.record.last_seq = ev.seq;
  slot.log.push_back(event_frame{slot.record.id, ev.seq, to_string(ev.kind),
                                 encode_event(ev), is_terminal(ev.kind)});
  return slot.log.back();
}

void publish(session_ptr self, run_slot& slot, frame_batch batch) {
  fan_out(self, std::move(batch), slot.subscribers, self->state.followers);
}

frame_batch just(const event_frame& frame) {
  return frame_batch{{frame}};
}

void start_next_queued(session_ptr self);

/// The one way a run ends. Writes the run's remaining events, its final
/// record and the messages it leaves in one store call, and only then sends
/// the terminal frame, so a client that saw `done` can always replay the run.
/// `then` runs after that (e.g. starting the run that interrupted this one);
/// `await` keeps every other message waiting until the store answered.
using after_finish = std::function<void(const run_record&)>;

void finish(session_ptr self, run_slot& slot, run_event terminal,
            bool keep_partial_answer, after_finish then = {}) {
  auto& st = self->state;
  slot.ending = true;
  if (st.registry)
    self->send(st.registry, run_fin_atom::value, st.owner, slot.record.id);
  auto now = unix_time_ms();
  switch (terminal.kind) {
    case event_kind::done:
      slot.record.status = run_status::complete;
      terminal.message_id = make_uuid(st.rng);
      slot.answer = terminal.content;
      break;
    case event_kind::cancelled:
      slot.record.status = run_status::cancelled;
      break;
    default:
      slot.record.status = run_status::failed;
      slot.record.error = terminal.message;
  }
  // A rollback takes the partial answer back; everything else keeps it.
  bool rolled_back
    = terminal.kind == event_kind::cancelled && !keep_partial_answer;
  slot.record.result = rolled_back ? std::string{} : slot.answer;
  slot.record.updated_at_ms = now;
  auto frame = stamp(slot, terminal);
  std::vector<message_record> messages;
  bool leaves_answer = terminal.kind == event_kind::done
                       || (terminal.kind == event_kind::cancelled
                           && keep_partial_answer && !slot.answer.empty());
  if (leaves_answer) {
    auto id
      = terminal.message_id.empty() ? make_uuid(st.rng) : terminal.message_id;
    messages.push_back(message_record{
      id, st.conversation_id, "assistant", slot.answer, slot.thinking,
      terminal.usage.completion_tokens, slot.record.id, st.owner, now});
  }
  auto from = slot.unsaved;
  std::vector<event_frame> rest(slot.log.begin() + from, slot.log.end());
  slot.unsaved = slot.log.size();
  slot.fin_messages = messages;
  if (st.active == slot.record.id)
    st.active.clear();
  auto run_id = slot.record.id;
  auto done = [self, run_id, frame, then] {
    auto& st = self->state;
    auto& slot = st.runs[run_id];
    publish(self, slot, just(frame));
    slot.subscribers.clear();
    auto record = slot.record;
    st.finished.push_back(run_id);
    forget_old_runs(self);
    if (then)
      then(record);
    else
      start_next_queued(self);
  };
  auto saved = [self, done, run_id](caf::ok_atom) {
    if (auto i = self->state.runs.find(run_id); i != self->state.runs.end())
      i->second.fin_messages.clear();
    done();
  };
  auto failed = [self, done, run_id, from](const caf::error& err) {
    log_store_error(self, "run_fin")(err);
    // The clients still learn that the run ended (streams in progress go
    // on while the store is away); its log stays here and is written when
    // the store is back.
    if (auto i = self->state.runs.find(run_id); i != self->state.runs.end())
      i->second.fin_pending = true;
    unsaved_from(self, run_id, from);
    done();
  };
  // The terminal frame waits for this write, and clients wait for the
  // terminal frame (a cancel above all): it goes ahead of the background
  // writes queued at the store, unless writes of this very run are still
  // on their way there, which it must not overtake.
  auto& store = st.deps.store;
  auto timeout = st.deps.options.store_timeout;
  if (slot.writes_in_flight == 0)
    request_urgent(self, store, timeout, run_fin_atom::value, slot.record,
                   std::move(rest), std::move(messages))
      .await(saved, failed);
  else
    self
      ->request(store, timeout, run_fin_atom::value, slot.record,
                std::move(rest), std::move(messages))
      .await(saved, failed);
}

run_event event_of(event_kind kind) {
  run_event ev;
  ev.kind = kind;
  ev.time_us = unix_time_us();
  return ev;
}

void cancel_slot(session_ptr self, run_slot& slot, bool keep_partial_answer,
                 after_finish then = {}) {
  auto& st = self->state;
  if (slot.log.empty()) {
    // A queued run never started: it still begins with seq 1 =
    // chat_session_start, so every run's stream has the same shape.
    auto start = event_of(event_kind::chat_session_start);
    start.conversation_id = st.conversation_id;
    publish(self, slot, just(stamp(slot, start)));
  }
  if (slot.actor) {
    self->send(slot.actor, cancel_atom::value);
    slot.actor = nullptr;
  }
  st.queued.erase(
    std::remove(st.queued.begin(), st.queued.end(), slot.record.id),
    st.queued.end());
  finish(self, slot, event_of(event_kind::cancelled), keep_partial_answer,
         std::move(then));
}

/// What a run writes when it opens, besides its record: the conversation
/// as a resource (on every run, since a REST client may have deleted it
/// since the last one; `ensure` keeps one made over REST, its persona and
/// title, as it is) and the user's question.
std::vector<resource_doc> opening_docs(const chat_session_state& st,
                                       const run_slot& slot) {
  auto now = slot.record.created_at_ms;
  return {conversation_doc(conversation_record{st.conversation_id,
                                               st.agent_name,
                                               {},
                                               slot.request.persona_id,
                                               st.owner,
                                               now,
                                               now}),
          message_doc(slot.question)};
}

/// Makes `slot` the run in flight and numbers its first event; nothing is
/// sent yet.
void begin(session_ptr self, run_slot& slot) {
  auto& st = self->state;
  st.active = slot.record.id;
  slot.record.status = run_status::running;
  slot.record.updated_at_ms = unix_time_ms();
  auto start = event_of(event_kind::chat_session_start);
  start.conversation_id = st.conversation_id;
  stamp(slot, start);
}

/// Says chat_session_start and spawns the agent of a run begin() set up.
void go(session_ptr self, run_slot& slot) {
  auto& st = self->state;
  publish(self, slot, just(slot.log.front()));
  slot.actor
    = spawn_agent_run(self, self, slot.request, st.deps.options.token_interval);
  // Linked so that a run ends with its session; monitored so that a run
  // that fails ends its clients' stream (see on_down).
  self->link_to(slot.actor);
  self->monitor(slot.actor);
}

/// Puts a queued run in flight: its record and first event in one store
/// write (retried with the next flush if it fails), then it goes.
void launch(session_ptr self, run_slot& slot) {
  auto& st = self->state;
  begin(self, slot);
  slot.unsaved = slot.log.size();
  auto answered = write_sent(self, slot);
  self
    ->request(st.deps.store, st.deps.options.store_timeout,
              run_open_atom::value, slot.record, std::vector<resource_doc>{},
              slot.log)
    .then([answered](caf::ok_atom) { answered(); },
          [self, answered, run_id = slot.record.id](const caf::error& err) {
            answered();
            log_store_error(self, "run_open")(err);
            unsaved_from(self, run_id, 0);
          });
  go(self, slot);
}

void start_next_queued(session_ptr self) {
  auto& st = self->state;
  if (!st.active.empty() || st.queued.empty())
    return;
  auto id = st.queued.front();
  st.queued.pop_front();
  if (auto i = st.runs.find(id); i != st.runs.end())
    launch(self, i->second);
}

/// The record of a run about to be queued.
run_record new_record(const chat_session_state& st, const run_request& req,
                      int64_t now) {
  run_record rec;
  rec.id = req.run_id;
  rec.conversation_id = st.conversation_id;
  rec.agent_name = req.agent_name;
  rec.query = req.message;
  rec.owner = st.owner;
  rec.node = st.deps.options.node_id;
  rec.created_at_ms = now;
  rec.updated_at_ms = now;
  return rec;
}

/// Registers a new run, queued; nothing is stored yet.
run_slot& admit(session_ptr self, run_request& req,
                const subscriber_actor& sub) {
  auto& st = self->state;
  auto now = unix_time_ms();
  auto& slot = st.runs[req.run_id];
  slot.request = req;
  slot.record = new_record(st, req, now);
  if (sub) {
    watch(self, sub);
    slot.subscribers.push_back(sub);
  }
  slot.question = message_record{
    make_uuid(st.rng), st.conversation_id, "user", req.message, {}, 0,
    req.run_id,        st.owner,           now};
  return slot;
}

/// After the store took a run that could not start at once: it waits its
/// turn (enqueue) or has the run in flight end first (interrupt,
/// rollback; that one's `cancelled` goes out before this one's
/// chat_session_start). Answers `rp`.
void queue_or_replace(session_ptr self, const run_request& req,
                      caf::typed_response_promise<run_ticket> rp) {
  auto& st = self->state;
  if (req.strategy == multitask_strategy::enqueue) {
    st.queued.push_back(req.run_id);
    start_next_queued(self);
    rp.deliver(run_ticket{st.runs[req.run_id].record, true, {}});
    return;
  }
  st.queued.push_front(req.run_id);
  auto run_id = req.run_id;
  cancel_slot(
    self, st.runs[st.active], req.strategy != multitask_strategy::rollback,
    [self, rp, run_id](const run_record&) mutable {
      start_next_queued(self);
      rp.deliver(run_ticket{self->state.runs[run_id].record, true, {}});
    });
}

caf::result<run_ticket> start_run(session_ptr self, run_request& req,
                                  subscriber_actor& sub) {
  auto& st = self->state;
  if (req.run_id.empty())
    req.run_id = make_uuid(st.rng);
  if (auto i = st.runs.find(req.run_id); i != st.runs.end()) {
    if (req.reuse_existing)
      return run_ticket{i->second.record, false, {}};
    return make_error(error_code::conflict,
                      "run " + req.run_id + " already exists");
  }
  if (req.agent_name.empty())
    req.agent_name = st.agent_name;
  bool busy = !st.active.empty();
  if (busy && req.strategy == multitask_strategy::reject)
    return make_error(error_code::conflict, "conversation " + st.conversation_id
                                              + " already has run " + st.active
                                              + " in flight");
  // Whoever is told that the run started can find it after a crash: it is
  // stored first, with its conversation, its question and (when it starts
  // at once) its first event, in one store call. `await` keeps this
  // conversation's other messages (and a repeat of this request) waiting
  // meanwhile.
  auto& slot = admit(self, req, sub);
  if (!busy)
    begin(self, slot);
  auto rp = self->make_response_promise<run_ticket>();
  self
    ->request(st.deps.store, st.deps.options.store_timeout,
              run_open_atom::value, slot.record, opening_docs(st, slot),
              slot.log)
    .await(
      [self, req, busy, rp](caf::ok_atom) mutable {
        auto& slot = self->state.runs[req.run_id];
        if (busy) {
          queue_or_replace(self, req, rp);
          return;
        }
        slot.unsaved = slot.log.size();
        go(self, slot);
        rp.deliver(run_ticket{slot.record, true, {}});
      },
      [self, run_id = req.run_id, rp](caf::error& err) mutable {
        // Nothing of the run exists: it never started.
        auto& st = self->state;
        if (st.active == run_id)
          st.active.clear();
        st.runs.erase(run_id);
        rp.deliver(std::move(err));
      });
  return rp;
}

/// Numbers, logs and forwards what a run had ready, as one batch; a
/// terminal event ends the run after the frames before it went out.
void on_events(session_ptr self, std::vector<run_event>& evs) {
  auto& st = self->state;
  if (evs.empty())
    return;
  auto i = st.runs.find(evs.front().chat_session_id);
  // Events of a run that was cancelled (or already ended) are stale.
  if (i == st.runs.end() || i->second.ending || st.active != i->first)
    return;
  auto& slot = i->second;
  frame_batch batch;
  batch.frames.reserve(evs.size());
  for (auto& ev : evs) {
    if (is_terminal(ev.kind)) {
      publish(self, slot, std::move(batch));
      slot.actor = nullptr;
      finish(self, slot, std::move(ev), true);
      return;
    }
    if (ev.kind == event_kind::chunk)
      (ev.thinking ? slot.thinking : slot.answer) += ev.content;
    batch.frames.push_back(stamp(slot, ev));
  }
  publish(self, slot, std::move(batch));
  schedule_flush(self, slot);
}

caf::result<std::vector<event_frame>> replay(session_ptr self,
                                             subscriber_actor& sub,
                                             const std::string& run_id,
                                             uint64_t last_seq) {
  auto& st = self->state;
  auto after = [last_seq](const std::vector<event_frame>& log) {
    return std::vector<event_frame>(
      log.begin() + std::min<uint64_t>(last_seq, log.size()), log.end());
  };
  if (run_id.empty()) {
    // The whole conversation from now on, plus what the run in flight said.
    watch(self, sub);
    add_unique(st.followers, sub);
    if (st.active.empty())
      return std::vector<event_frame>{};
    return after(st.runs[st.active].log);
  }
  if (auto i = st.runs.find(run_id); i != st.runs.end()) {
    auto& slot = i->second;
    if (!slot.ending) {
      watch(self, sub);
      add_unique(slot.subscribers, sub);
    }
    return after(slot.log);
  }
  return stored_events(self, run_id, last_seq,
                       std::numeric_limits<uint32_t>::max());
}

void on_down(session_ptr self, const caf::down_msg& msg) {
  auto& st = self->state;
  st.monitored.erase(msg.source);
  auto drop = [&](std::vector<subscriber_actor>& xs) {
    xs.erase(std::remove_if(xs.begin(), xs.end(),
                            [&](const subscriber_actor& x) {
                              return x.address() == msg.source;
                            }),
             xs.end());
  };
  drop(st.followers);
  for (auto& [id, slot] : st.runs) {
    drop(slot.subscribers);
    // A run that dies without a terminal event (a crash in an agent) still
    // ends properly for its clients.
    if (slot.actor && slot.actor.address() == msg.source && !slot.ending) {
      slot.actor = nullptr;
      auto err = event_of(event_kind::error);
      err.error_code = to_string(error_code::internal);
      err.message = "the agent run ended without an answer: "
                    + self->system().render(msg.reason);
      finish(self, slot, std::move(err), true);
    }
  }
}

chat_session_actor::behavior_type
chat_session(session_ptr self, std::string conversation_id, std::string owner,
             std::string agent_name, chat_session_deps deps,
             chat_registry_actor registry) {
  auto& st = self->state;
  st.registry = std::move(registry);
  st.conversation_id = std::move(conversation_id);
  st.owner = std::move(owner);
  st.agent_name = std::move(agent_name);
  st.deps = std::move(deps);
  self->set_down_handler([self](caf::down_msg& msg) { on_down(self, msg); });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    // A failing run is handled by its down message; anything else (the
    // registry shutting down) ends the session.
    for (auto& [id, slot] : self->state.runs)
      if (slot.actor && slot.actor.address() == msg.source)
        return;
    if (msg.reason)
      self->quit(msg.reason);
  });
  return {
    [self](run_atom, run_request& req, subscriber_actor& sub) {
      return start_run(self, req, sub);
    },
    [self](cancel_atom, const std::string& run_id,
           bool keep_partial_answer) -> caf::result<run_record> {
      auto& st = self->state;
      auto i = st.runs.find(run_id);
      if (i == st.runs.end())
        return stored_record(self, run_id);
      if (i->second.ending)
        return i->second.record;
      auto rp = self->make_response_promise<run_record>();
      cancel_slot(self, i->second, keep_partial_answer,
                  [self, rp](const run_record& rec) mutable {
                    rp.deliver(rec);
                    start_next_queued(self);
                  });
      return rp;
    },
    [self](subscribe_atom, subscriber_actor& sub, const std::string& run_id,
           uint64_t last_seq) { return replay(self, sub, run_id, last_seq); },
    [self](status_atom, const std::string& run_id) -> caf::result<run_record> {
      auto& st = self->state;
      if (auto i = st.runs.find(run_id); i != st.runs.end())
        return i->second.record;
      return stored_record(self, run_id);
    },
    [self](ev_get_atom, const std::string& run_id, uint64_t after,
           uint32_t limit) { return events_after(self, run_id, after, limit); },
    [self](forget_atom) -> caf::result<caf::ok_atom> {
      auto& st = self->state;
      for (auto& id : st.finished)
        st.runs.erase(id);
      st.finished.clear();
      auto rp = self->make_response_promise<caf::ok_atom>();
      self
        ->request(st.deps.store, st.deps.options.store_timeout,
                  ev_drop_atom::value, st.conversation_id)
        .then([rp](uint64_t) mutable { rp.deliver(caf::ok_atom::value); },
              [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [self](std::vector<run_event>& evs) { on_events(self, evs); },
    [self](flush_atom) {
      self->state.flush_scheduled = false;
      flush(self);
    },
  };
}

} // namespace

chat_session_actor spawn_chat_session(caf::local_actor* spawner,
                                      std::string conversation_id,
                                      std::string owner, std::string agent_name,
                                      chat_session_deps deps) {
  return spawner->spawn(chat_session, std::move(conversation_id),
                        std::move(owner), std::move(agent_name),
                        std::move(deps),
                        caf::actor_cast<chat_registry_actor>(spawner));
}

} // namespace parley
