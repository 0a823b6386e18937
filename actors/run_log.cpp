// How a chat session writes its runs: events in batches, a run's end in
// one run_fin, and everything the store refused again every
// options.store_retry until it takes it. A run the store does not have yet
// stays in memory.
#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/chat_session_state.hpp"

namespace parley {

namespace {

using session_ptr = chat_session_ptr;

} // namespace

std::function<void(const caf::error&)> log_store_error(chat_session_ptr self,
                                                       std::string what) {
  return [self, what](const caf::error& err) {
    if (auto& log = self->state.deps.log)
      log->error("conversation {}: store {} failed: {}",
                 self->state.conversation_id, what, self->system().render(err));
  };
}

std::function<void()> write_sent(session_ptr self, run_slot& slot) {
  ++slot.writes_in_flight;
  return [self, run_id = slot.record.id] {
    if (auto i = self->state.runs.find(run_id); i != self->state.runs.end())
      --i->second.writes_in_flight;
  };
}

void retry_later(session_ptr self) {
  auto& st = self->state;
  if (!st.flush_scheduled) {
    st.flush_scheduled = true;
    self->delayed_send(self, st.deps.options.store_retry, flush_atom::value);
  }
}

void unsaved_from(session_ptr self, const std::string& run_id, size_t from) {
  auto& st = self->state;
  if (auto i = st.runs.find(run_id); i != st.runs.end()) {
    i->second.unsaved = std::min(i->second.unsaved, from);
    retry_later(self);
  }
}

namespace {

/// Sends a finished run's run_fin (again): its unsaved events, final record
/// and messages, in one store call.
void send_fin(session_ptr self, run_slot& slot) {
  auto& st = self->state;
  auto from = slot.unsaved;
  std::vector<event_frame> rest(slot.log.begin() + from, slot.log.end());
  slot.unsaved = slot.log.size();
  slot.fin_in_flight = true;
  auto run_id = slot.record.id;
  self
    ->request(st.deps.store, st.deps.options.store_timeout, run_fin_atom::value,
              slot.record, std::move(rest), slot.fin_messages)
    .then(
      [self, run_id](caf::ok_atom) {
        auto& st = self->state;
        if (auto i = st.runs.find(run_id); i != st.runs.end()) {
          i->second.fin_in_flight = false;
          i->second.fin_pending = false;
          i->second.fin_messages.clear();
        }
        if (auto& log = st.deps.log)
          log->info("run {}: saved after the store came back", run_id);
        forget_old_runs(self);
      },
      [self, run_id, from](const caf::error& err) {
        log_store_error(self, "run_fin (retry)")(err);
        if (auto i = self->state.runs.find(run_id); i != self->state.runs.end())
          i->second.fin_in_flight = false;
        unsaved_from(self, run_id, from);
      });
}

} // namespace

void flush(session_ptr self) {
  auto& st = self->state;
  for (auto& [id, slot] : st.runs) {
    if (slot.fin_pending) {
      if (!slot.fin_in_flight)
        send_fin(self, slot);
      continue;
    }
    if (slot.unsaved == slot.log.size())
      continue;
    auto from = slot.unsaved;
    std::vector<event_frame> batch(slot.log.begin() + from, slot.log.end());
    slot.unsaved = slot.log.size();
    auto answered = write_sent(self, slot);
    self
      ->request(st.deps.store, st.deps.options.store_timeout,
                ev_add_atom::value, id, std::move(batch))
      .then([answered](caf::ok_atom) { answered(); },
            [self, answered, run_id = id, from](const caf::error& err) {
              answered();
              log_store_error(self, "ev_add")(err);
              unsaved_from(self, run_id, from);
            });
  }
}

void schedule_flush(session_ptr self, const run_slot& slot) {
  auto& st = self->state;
  if (slot.log.size() - slot.unsaved >= st.deps.options.event_batch) {
    flush(self);
    return;
  }
  if (!st.flush_scheduled) {
    st.flush_scheduled = true;
    self->delayed_send(self, st.deps.options.flush_interval, flush_atom::value);
  }
}

void forget_old_runs(session_ptr self) {
  auto& st = self->state;
  // A run the store does not have yet stays (and so do the ones after it):
  // its log in memory is the only copy.
  while (st.finished.size() > st.deps.options.recent_runs_kept) {
    auto i = st.runs.find(st.finished.front());
    if (i != st.runs.end() && !i->second.saved())
      break;
    st.runs.erase(st.finished.front());
    st.finished.pop_front();
  }
}

} // namespace parley
