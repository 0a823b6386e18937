#include "storage/redis_worker.hpp"

#include <caf/all.hpp>

#include "storage/redis_ops.hpp"

namespace parley {

store_actor::behavior_type
redis_worker(store_actor::stateful_pointer<redis_worker_state> self,
             redis_store_config cfg) {
  self->state.conn = std::make_unique<redis_connection>(std::move(cfg));
  auto& conn = *self->state.conn;
  return {
    [&conn](res_put_atom, const resource_doc& doc, put_mode mode,
            const std::vector<reference>& refs) -> caf::result<resource_doc> {
      return redis_ops::put(conn, doc, mode, refs);
    },
    [&conn](res_get_atom, const std::string& kind, const std::string& id)
      -> caf::result<resource_doc> { return redis_ops::get(conn, kind, id); },
    [&conn](res_list_atom, const resource_query& q)
      -> caf::result<resource_page> { return redis_ops::list(conn, q); },
    [&conn](
      res_del_atom, const std::string& kind, const std::string& id,
      const std::vector<cascade_rule>& cascades,
      const std::vector<cascade_rule>& restricts) -> caf::result<caf::ok_atom> {
      return redis_ops::remove(conn, kind, id, cascades, restricts);
    },
    [&conn](ev_drop_atom,
            const std::string& conversation_id) -> caf::result<uint64_t> {
      return redis_ops::drop_events(conn, conversation_id);
    },
    [&conn](health_atom) -> caf::result<caf::ok_atom> {
      return redis_ops::ping(conn);
    },
    [&conn](run_live_atom) -> caf::result<std::vector<run_record>> {
      return redis_ops::live_runs(conn);
    },
    [&conn](run_put_atom, const run_record& rec) -> caf::result<caf::ok_atom> {
      return redis_ops::put_run(conn, rec);
    },
    [&conn](run_get_atom, const std::string& id) -> caf::result<run_record> {
      return redis_ops::get_run(conn, id);
    },
    [&conn](ev_add_atom, const std::string& run_id,
            const std::vector<event_frame>& xs) -> caf::result<caf::ok_atom> {
      return redis_ops::add_events(conn, run_id, xs);
    },
    [&conn](ev_get_atom, const std::string& run_id, uint64_t after,
            uint32_t limit) -> caf::result<std::vector<event_frame>> {
      return redis_ops::get_events(conn, run_id, after, limit);
    },
    [&conn](run_open_atom, const run_record& rec,
            const std::vector<resource_doc>& docs,
            const std::vector<event_frame>& xs) -> caf::result<caf::ok_atom> {
      return redis_ops::open_run(conn, rec, docs, xs);
    },
    [&conn](
      run_fin_atom, const run_record& rec, const std::vector<event_frame>& xs,
      const std::vector<message_record>& msgs) -> caf::result<caf::ok_atom> {
      return redis_ops::finish_run(conn, rec, xs, msgs);
    },
  };
}

} // namespace parley
