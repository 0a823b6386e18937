// The store's operations over one Redis connection: what a redis_worker runs
// for each message of store_actor, with the memory store's semantics. Each
// blocks for one round trip (two for live_runs, none for an empty ev_get):
// call them from a detached actor or a test, never from a scheduled actor.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/expected.hpp>

#include "protocol/events.hpp"
#include "protocol/records.hpp"
#include "protocol/resources.hpp"
#include "protocol/schema.hpp"
#include "storage/redis_connection.hpp"

namespace parley::redis_ops {

/// res_put: one Lua script checks mode, references and unique fields, then
/// writes the object and its index entries.
caf::expected<resource_doc> put(redis_connection& conn, const resource_doc& doc,
                                put_mode mode,
                                const std::vector<reference>& refs);

/// res_get: HMGET on the object's hash.
caf::expected<resource_doc> get(redis_connection& conn, const std::string& kind,
                                const std::string& id);

/// res_list: one Lua script reads total and page consistently.
caf::expected<resource_page> list(redis_connection& conn,
                                  const resource_query& q);

/// res_del: one Lua script checks restricts, then deletes the dependants
/// and the object.
caf::expected<caf::ok_atom> remove(redis_connection& conn,
                                   const std::string& kind,
                                   const std::string& id,
                                   const std::vector<cascade_rule>& cascades,
                                   const std::vector<cascade_rule>& restricts);

/// ev_drop: deletes the streams of the conversation's finished runs.
caf::expected<uint64_t> drop_events(redis_connection& conn,
                                    const std::string& conversation_id);

/// run_put: the record and the run indexes, in one script.
caf::expected<caf::ok_atom> put_run(redis_connection& conn,
                                    const run_record& rec);

/// run_get: HGETALL.
caf::expected<run_record> get_run(redis_connection& conn,
                                  const std::string& id);

/// ev_add: one script call per batch (all XADDs in one round trip); a seq
/// already stored keeps its first copy.
caf::expected<caf::ok_atom> add_events(redis_connection& conn,
                                       const std::string& run_id,
                                       const std::vector<event_frame>& xs);

/// ev_get: XRANGE from after `after`, at most `limit` entries.
caf::expected<std::vector<event_frame>> get_events(redis_connection& conn,
                                                   const std::string& run_id,
                                                   uint64_t after,
                                                   uint32_t limit);

/// run_open: objects (put_mode::ensure; one the store refuses is skipped),
/// events and record in one MULTI/EXEC.
caf::expected<caf::ok_atom> open_run(redis_connection& conn,
                                     const run_record& rec,
                                     const std::vector<resource_doc>& docs,
                                     const std::vector<event_frame>& xs);

/// run_fin: events, messages (put_mode::ensure; a message that cannot be
/// written is skipped, as in the memory store), record and the stream's
/// expiry in one MULTI/EXEC.
caf::expected<caf::ok_atom> finish_run(redis_connection& conn,
                                       const run_record& rec,
                                       const std::vector<event_frame>& xs,
                                       const std::vector<message_record>& msgs);

/// One step of a run to write: what run_open or run_fin carries.
struct run_step {
  run_record rec;
  std::vector<event_frame> events;
  std::vector<resource_doc> docs; ///< written with put_mode::ensure
  bool ended = false;             ///< run_fin: the stream's expiry starts
};

run_step open_step(run_record rec, std::vector<resource_doc> docs,
                   std::vector<event_frame> xs);

run_step finish_step(run_record rec, std::vector<event_frame> xs,
                     const std::vector<message_record>& msgs);

/// Writes `steps` in one round trip, each as its own MULTI/EXEC, in order;
/// one answer per step (a step with a refused event takes a second round
/// trip of its own, see docs/storage.md). What open_run and finish_run do
/// for one step; a redis_worker hands it every step that queued up while
/// it waited on Redis.
std::vector<caf::expected<caf::ok_atom>>
write_run_steps(redis_connection& conn, const std::vector<run_step>& steps);

/// PING on this connection (connecting first if need be): what a readiness
/// probe would ask. Not part of store_actor yet (see docs/storage.md).
caf::expected<caf::ok_atom> ping(redis_connection& conn);

/// The runs still queued or running: after a crash, the ones to mark
/// interrupted. Not part of store_actor yet (see docs/storage.md).
caf::expected<std::vector<run_record>> live_runs(redis_connection& conn);

} // namespace parley::redis_ops
