#include "actors/recovery.hpp"

#include <limits>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "protocol/codec.hpp"
#include "protocol/ids.hpp"

namespace parley {

namespace {

/// The record and closing event of a run the process died under.
std::pair<run_record, event_frame> interrupted(run_record rec, uint64_t skip) {
  rec.status = run_status::interrupted;
  rec.error = "the server stopped while this run was in flight";
  rec.updated_at_ms = unix_time_ms();
  run_event ev;
  ev.kind = event_kind::error;
  ev.chat_session_id = rec.id;
  ev.seq = rec.last_seq + 1 + skip;
  ev.time_us = rec.updated_at_ms * 1000;
  ev.error_code = "interrupted";
  ev.message = rec.error;
  rec.last_seq = ev.seq;
  event_frame frame{rec.id, ev.seq, to_string(ev.kind), encode_event(ev), true};
  return {std::move(rec), std::move(frame)};
}

} // namespace

void spawn_run_recovery(caf::actor_system& sys, store_actor store,
                        server_options options, logger_ptr log) {
  sys.spawn([store, options, log](caf::event_based_actor* self) {
    self->request(store, options.store_timeout, run_live_atom::value)
      .then(
        [self, store, options, log](std::vector<run_record>& all) {
          // Other nodes' runs are theirs to end (they may be streaming).
          std::vector<run_record> runs;
          for (auto& rec : all)
            if (rec.node == options.node_id)
              runs.push_back(std::move(rec));
          if (runs.empty())
            return;
          log->warn("marking {} run(s) left by the last process as "
                    "interrupted",
                    runs.size());
          for (auto& left : runs) {
            // The record's last_seq lags the flushed log: continue after
            // the last event the store has.
            auto id = left.id;
            self
              ->request(store, options.store_timeout, ev_get_atom::value, id,
                        left.last_seq, std::numeric_limits<uint32_t>::max())
              .then(
                [self, store, options, log,
                 left](const std::vector<event_frame>& later) mutable {
                  if (!later.empty())
                    left.last_seq = later.back().seq;
                  // Events streamed in the last flush interval before the
                  // crash were not saved: say where the stored log ends.
                  auto stored = left.last_seq;
                  // The dead process may have streamed events it had not
                  // saved yet (at most two batches: one being written, one
                  // filling): the closing event is numbered past them, so a
                  // client resuming from the last event it saw still gets
                  // it.
                  auto [rec, frame]
                    = interrupted(std::move(left), 2 * options.event_batch);
                  rec.error += "; events after seq " + std::to_string(stored)
                               + " may not have been saved";
                  auto id = rec.id;
                  self
                    ->request(store, options.store_timeout, run_fin_atom::value,
                              std::move(rec), std::vector<event_frame>{frame},
                              std::vector<message_record>{})
                    .then([](caf::ok_atom) {},
                          [log, id](const caf::error& err) {
                            log->error("could not mark run {} interrupted: {}",
                                       id, error_message(err));
                          });
                },
                [log, id](const caf::error& err) {
                  log->error("could not read the events of run {}: {}", id,
                             error_message(err));
                });
          }
        },
        [log](const caf::error& err) {
          log->warn("could not list the runs the last process left (they are "
                    "marked at the next start): {}",
                    error_message(err));
        });
  });
}

} // namespace parley
