// The state of a chat session actor and the parts of its behaviour that
// live in their own files: writing runs to the store (run_log.cpp) and
// reading runs it no longer holds back from it (run_history.cpp). Only the
// chat session's own sources include this; everyone else talks to it
// through chat_session_actor.
#pragma once

#include <deque>
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/stateful_actor.hpp>

#include "actors/chat_session.hpp"
#include "protocol/ids.hpp"

namespace parley {

/// Everything the session knows about one run, live or recently finished.
struct run_slot {
  run_request request;
  run_record record;
  agent_run_actor actor;
  /// Every frame of the run so far, in seq order: the replay source.
  std::vector<event_frame> log;
  /// log[unsaved..] has not been handed to the store yet.
  size_t unsaved = 0;
  /// Writes of this run sent and not answered yet (ev_add batches, the
  /// run_open of a queued run that starts): while there are any, the run's
  /// run_fin must not overtake them (finish()).
  size_t writes_in_flight = 0;
  std::vector<subscriber_actor> subscribers;
  std::string answer;
  std::string thinking;
  /// True from the terminal event on: later events of the run are stale.
  bool ending = false;
  /// The run ended but the store has not acknowledged its run_fin (it was
  /// down): retried, with the messages the run leaves, until it does.
  bool fin_pending = false;
  bool fin_in_flight = false;
  std::vector<message_record> fin_messages;
  /// The user's message that started the run, written with its record
  /// (run_open) before anyone is told the run exists.
  message_record question;

  bool saved() const {
    return !fin_pending && !fin_in_flight && unsaved == log.size();
  }
};

struct chat_session_state {
  std::string conversation_id;
  /// The user the conversation belongs to; its runs, messages and the
  /// conversation resource are stored as theirs.
  std::string owner;
  std::string agent_name;
  chat_session_deps deps;
  /// Told when a run ends (it counts the runs each user has in flight).
  chat_registry_actor registry;
  id_generator rng;
  std::unordered_map<std::string, run_slot> runs;
  /// Finished runs, oldest first; beyond options.recent_runs_kept their
  /// slots are dropped and replays read the store.
  std::deque<std::string> finished;
  std::string active; ///< the run in flight, if any
  std::deque<std::string> queued;
  /// Subscribers of the whole conversation: they get every run's frames.
  std::vector<subscriber_actor> followers;
  std::unordered_set<caf::actor_addr> monitored;
  bool flush_scheduled = false;

  static inline const char* name = "chat_session";
};

using chat_session_ptr
  = chat_session_actor::stateful_pointer<chat_session_state>;

// -- run_log.cpp: the store side of a run -------------------------------------

/// Logs a failed fire-and-forget store write; the run goes on.
std::function<void(const caf::error&)> log_store_error(chat_session_ptr self,
                                                       std::string what);

/// Tries the store again after options.store_retry (it failed or timed out).
void retry_later(chat_session_ptr self);

/// After a failed write of log[from..]: those events go again with the next
/// flush (the store keeps the first copy of a seq, so overlaps are fine).
void unsaved_from(chat_session_ptr self, const std::string& run_id,
                  size_t from);

/// Counts a write of `slot`'s run as on its way to the store
/// (run_slot::writes_in_flight); call what it returns once the store
/// answered, either way.
std::function<void()> write_sent(chat_session_ptr self, run_slot& slot);

/// Writes every run's unsaved events (and the run_fin of runs whose end the
/// store has not taken yet).
void flush(chat_session_ptr self);

/// Writes soon: at once when a batch is full, else after flush_interval.
void schedule_flush(chat_session_ptr self, const run_slot& slot);

/// Drops the slots of finished runs beyond options.recent_runs_kept, oldest
/// first, but none the store does not have yet.
void forget_old_runs(chat_session_ptr self);

// -- run_history.cpp: runs read back from the store ---------------------------

/// The record of a run this session no longer holds (or never held).
caf::result<run_record> stored_record(chat_session_ptr self,
                                      const std::string& id);

/// A run's frames after `after` from the store, or not_found / gone.
caf::result<std::vector<event_frame>> stored_events(chat_session_ptr self,
                                                    const std::string& run_id,
                                                    uint64_t after,
                                                    uint32_t limit);

/// A run's frames after `after` (from memory when the session holds the
/// run), at most `limit`, without following it.
caf::result<std::vector<event_frame>> events_after(chat_session_ptr self,
                                                   const std::string& run_id,
                                                   uint64_t after,
                                                   uint32_t limit);

} // namespace parley
