// How a chat session answers for runs it no longer holds in memory (evicted,
// or from an earlier life of the server): their records and event logs
// from the store, refusing with `gone` a log that no longer holds what a
// client asked for.
#include <caf/all.hpp>

#include "actors/chat_session_state.hpp"

namespace parley {

namespace {

using session_ptr = chat_session_ptr;

} // namespace

caf::result<run_record> stored_record(session_ptr self, const std::string& id) {
  auto& st = self->state;
  auto rp = self->make_response_promise<run_record>();
  self
    ->request(st.deps.store, st.deps.options.store_timeout, run_get_atom::value,
              id)
    .then([rp](run_record& rec) mutable { rp.deliver(std::move(rec)); },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

namespace {

/// An error when the stored log of `rec` no longer holds what follows
/// `after` (dropped as memories, expired or trimmed): a client must never
/// take a partial replay for the whole story.
caf::error missing_history(const run_record& rec, uint64_t after,
                           const std::vector<event_frame>& xs) {
  // An interrupted run's log has a known gap before its closing event (what
  // the dead process streamed but had not saved); its status says so.
  if (rec.status == run_status::interrupted && !xs.empty())
    return {};
  bool expected_some = rec.last_seq > after;
  if ((expected_some && xs.empty())
      || (!xs.empty() && xs.front().seq != after + 1))
    return make_error(error_code::gone,
                      "the event history of run " + rec.id
                        + " is no longer kept; read its result with GET "
                          "/api/agent/"
                        + rec.id + "/status");
  return {};
}

} // namespace

/// A run this session no longer holds (evicted, or from an earlier life
/// of the server): its frames after `after` from the store, or not_found /
/// gone.
caf::result<std::vector<event_frame>> stored_events(session_ptr self,
                                                    const std::string& run_id,
                                                    uint64_t after,
                                                    uint32_t limit) {
  auto& st = self->state;
  auto rp = self->make_response_promise<std::vector<event_frame>>();
  auto store = st.deps.store;
  auto timeout = st.deps.options.store_timeout;
  self->request(store, timeout, run_get_atom::value, run_id)
    .then(
      [self, rp, store, timeout, run_id, after,
       limit](run_record& rec) mutable {
        self->request(store, timeout, ev_get_atom::value, run_id, after, limit)
          .then(
            [rp, rec, after](std::vector<event_frame>& xs) mutable {
              if (auto err = missing_history(rec, after, xs))
                rp.deliver(std::move(err));
              else
                rp.deliver(std::move(xs));
            },
            [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

/// A run's frames after `after` without following it.
caf::result<std::vector<event_frame>> events_after(session_ptr self,
                                                   const std::string& run_id,
                                                   uint64_t after,
                                                   uint32_t limit) {
  auto& st = self->state;
  if (auto i = st.runs.find(run_id); i != st.runs.end()) {
    auto& log = i->second.log;
    auto first = std::min<uint64_t>(after, log.size());
    auto last = std::min<uint64_t>(log.size(), first + limit);
    return std::vector<event_frame>(log.begin() + first, log.begin() + last);
  }
  return stored_events(self, run_id, after, limit);
}

} // namespace parley
