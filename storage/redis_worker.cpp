#include "storage/redis_worker.hpp"

#include <caf/all.hpp>

namespace parley {

namespace {

using worker_ptr = redis_worker_actor::stateful_pointer<redis_worker_state>;

/// Writes every pending step in one round trip and answers each.
void flush(worker_ptr self) {
  auto& st = self->state;
  if (st.pending.empty())
    return;
  auto batch = std::move(st.pending);
  st.pending.clear();
  std::vector<redis_ops::run_step> steps;
  steps.reserve(batch.size());
  for (auto& p : batch)
    steps.push_back(std::move(p.step));
  auto answers = redis_ops::write_run_steps(*st.conn, steps);
  for (size_t i = 0; i < batch.size(); ++i) {
    if (answers[i])
      batch[i].promise.deliver(caf::ok_atom::value);
    else
      batch[i].promise.deliver(answers[i].error());
  }
}

caf::result<caf::ok_atom> queue(worker_ptr self, redis_ops::run_step step) {
  auto& st = self->state;
  // Behind everything already in the mailbox: those steps join this batch.
  if (st.pending.empty())
    self->send(self, flush_atom::value);
  auto rp = self->make_response_promise<caf::ok_atom>();
  st.pending.push_back({std::move(step), rp});
  return rp;
}

} // namespace

redis_worker_actor::behavior_type redis_worker(worker_ptr self,
                                               redis_store_config cfg) {
  self->state.conn = std::make_unique<redis_connection>(std::move(cfg));
  // Every request that is not a run step: after the steps before it.
  auto in_order = [self]() -> redis_connection& {
    flush(self);
    return *self->state.conn;
  };
  return {
    [in_order](
      res_put_atom, const resource_doc& doc, put_mode mode,
      const std::vector<reference>& refs) -> caf::result<resource_doc> {
      return redis_ops::put(in_order(), doc, mode, refs);
    },
    [in_order](res_get_atom, const std::string& kind,
               const std::string& id) -> caf::result<resource_doc> {
      return redis_ops::get(in_order(), kind, id);
    },
    [in_order](res_list_atom, const resource_query& q)
      -> caf::result<resource_page> { return redis_ops::list(in_order(), q); },
    [in_order](
      res_del_atom, const std::string& kind, const std::string& id,
      const std::vector<cascade_rule>& cascades,
      const std::vector<cascade_rule>& restricts) -> caf::result<caf::ok_atom> {
      return redis_ops::remove(in_order(), kind, id, cascades, restricts);
    },
    [in_order](ev_drop_atom,
               const std::string& conversation_id) -> caf::result<uint64_t> {
      return redis_ops::drop_events(in_order(), conversation_id);
    },
    [in_order](health_atom) -> caf::result<caf::ok_atom> {
      return redis_ops::ping(in_order());
    },
    [in_order](run_live_atom) -> caf::result<std::vector<run_record>> {
      return redis_ops::live_runs(in_order());
    },
    [in_order](run_put_atom,
               const run_record& rec) -> caf::result<caf::ok_atom> {
      return redis_ops::put_run(in_order(), rec);
    },
    [in_order](run_get_atom, const std::string& id) -> caf::result<run_record> {
      return redis_ops::get_run(in_order(), id);
    },
    [in_order](
      ev_add_atom, const std::string& run_id,
      const std::vector<event_frame>& xs) -> caf::result<caf::ok_atom> {
      return redis_ops::add_events(in_order(), run_id, xs);
    },
    [in_order](ev_get_atom, const std::string& run_id, uint64_t after,
               uint32_t limit) -> caf::result<std::vector<event_frame>> {
      return redis_ops::get_events(in_order(), run_id, after, limit);
    },
    [self](run_open_atom, run_record& rec, std::vector<resource_doc>& docs,
           std::vector<event_frame>& xs) -> caf::result<caf::ok_atom> {
      return queue(self, redis_ops::open_step(std::move(rec), std::move(docs),
                                              std::move(xs)));
    },
    [self](
      run_fin_atom, run_record& rec, std::vector<event_frame>& xs,
      const std::vector<message_record>& msgs) -> caf::result<caf::ok_atom> {
      return queue(self,
                   redis_ops::finish_step(std::move(rec), std::move(xs), msgs));
    },
    [self](flush_atom) { flush(self); },
  };
}

} // namespace parley
