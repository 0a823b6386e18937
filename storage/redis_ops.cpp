#include "storage/redis_ops.hpp"

#include <hiredis/hiredis.h>

#include "actors/interfaces.hpp"
#include "storage/redis_keys.hpp"
#include "storage/redis_records.hpp"

namespace parley::redis_ops {

namespace {

caf::error malformed(const char* what) {
  return make_error(error_code::internal,
                    std::string{"redis: unexpected reply to "} + what);
}

/// A res_put answer: {"ok", id, json, created_at, updated_at, index, unique}.
caf::expected<resource_doc> doc_answer(const std::string& kind,
                                       const redisReply& answer) {
  if (auto err = script_error(answer))
    return err;
  if (answer.elements != 7)
    return malformed("res_put");
  return doc_from(kind, std::string{text_of(answer.element[1])},
                  answer.element + 2);
}

/// An {"ok", n} answer.
caf::expected<uint64_t> count_answer(const redisReply& answer,
                                     const char* what) {
  if (auto err = script_error(answer))
    return err;
  if (answer.elements != 2 || answer.element[1]->type != REDIS_REPLY_INTEGER)
    return malformed(what);
  return static_cast<uint64_t>(answer.element[1]->integer);
}

} // namespace

caf::expected<resource_doc> put(redis_connection& conn, const resource_doc& doc,
                                put_mode mode,
                                const std::vector<reference>& refs) {
  auto answer = conn.eval(redis_script::res_put,
                          put_args(conn.config().prefix, doc, mode, refs));
  if (!answer)
    return answer.error();
  return doc_answer(doc.kind, **answer);
}

caf::expected<resource_doc> get(redis_connection& conn, const std::string& kind,
                                const std::string& id) {
  auto reply
    = conn.call({"HMGET", redis_keys::doc(conn.config().prefix, kind, id),
                 "json", "created_at", "updated_at", "index", "unique"});
  if (!reply)
    return reply.error();
  auto& r = **reply;
  if (r.type != REDIS_REPLY_ARRAY || r.elements != 5)
    return malformed("HMGET");
  if (r.element[0]->type == REDIS_REPLY_NIL)
    return make_error(error_code::not_found, "no " + kind + " " + id);
  return doc_from(kind, id, r.element);
}

caf::expected<resource_page> list(redis_connection& conn,
                                  const resource_query& q) {
  auto answer
    = conn.eval(redis_script::res_list, list_args(conn.config().prefix, q));
  if (!answer)
    return answer.error();
  auto& a = **answer;
  if (auto err = script_error(a))
    return err;
  if (a.elements < 2 || (a.elements - 2) % 6 != 0
      || a.element[1]->type != REDIS_REPLY_INTEGER)
    return malformed("res_list");
  resource_page page;
  page.total = static_cast<uint64_t>(a.element[1]->integer);
  for (size_t i = 2; i < a.elements; i += 6) {
    auto doc
      = doc_from(q.kind, std::string{text_of(a.element[i])}, a.element + i + 1);
    if (!doc)
      return doc.error();
    page.items.push_back(std::move(*doc));
  }
  return page;
}

caf::expected<caf::ok_atom> remove(redis_connection& conn,
                                   const std::string& kind,
                                   const std::string& id,
                                   const std::vector<cascade_rule>& cascades,
                                   const std::vector<cascade_rule>& restricts) {
  auto answer
    = conn.eval(redis_script::res_del,
                del_args(conn.config().prefix, kind, id, cascades, restricts));
  if (!answer)
    return answer.error();
  if (auto err = script_error(**answer))
    return err;
  return caf::ok_atom::value;
}

caf::expected<uint64_t> drop_events(redis_connection& conn,
                                    const std::string& conversation_id) {
  auto answer
    = conn.eval(redis_script::ev_drop, {conn.config().prefix, conversation_id});
  if (!answer)
    return answer.error();
  return count_answer(**answer, "ev_drop");
}

caf::expected<caf::ok_atom> put_run(redis_connection& conn,
                                    const run_record& rec) {
  auto answer
    = conn.eval(redis_script::run_put, run_args(conn.config().prefix, rec));
  if (!answer)
    return answer.error();
  if (auto err = script_error(**answer))
    return err;
  return caf::ok_atom::value;
}

caf::expected<run_record> get_run(redis_connection& conn,
                                  const std::string& id) {
  auto reply
    = conn.call({"HGETALL", redis_keys::run(conn.config().prefix, id)});
  if (!reply)
    return reply.error();
  if ((*reply)->type == REDIS_REPLY_ARRAY && (*reply)->elements == 0)
    return make_error(error_code::not_found, "run " + id);
  return run_from(id, **reply);
}

caf::expected<caf::ok_atom> add_events(redis_connection& conn,
                                       const std::string& run_id,
                                       const std::vector<event_frame>& xs) {
  auto answer = conn.eval(redis_script::ev_add,
                          event_args(conn.config().prefix, run_id, xs));
  if (!answer)
    return answer.error();
  if (auto added = count_answer(**answer, "ev_add"); !added)
    return added.error();
  return caf::ok_atom::value;
}

caf::expected<std::vector<event_frame>> get_events(redis_connection& conn,
                                                   const std::string& run_id,
                                                   uint64_t after,
                                                   uint32_t limit) {
  if (limit == 0)
    return std::vector<event_frame>{};
  // Entry ids are "{seq}-1": "(" + "{after}-1" starts right after `after`.
  auto reply = conn.call(
    {"XRANGE", redis_keys::events(conn.config().prefix, run_id),
     "(" + std::to_string(after) + "-1", "+", "COUNT", std::to_string(limit)});
  if (!reply)
    return reply.error();
  return events_from(**reply);
}

namespace {

/// One step of a run as one MULTI/EXEC: its events, objects written with
/// put_mode::ensure, its record and, once it ended, the expiry of its
/// stream. An object the store refuses (its script's own error answer) is
/// skipped, as in the memory store; anything else that failed fails the
/// whole call.
caf::expected<caf::ok_atom>
write_run_step(redis_connection& conn, const run_record& rec,
               const std::vector<event_frame>& xs,
               const std::vector<resource_doc>& docs, bool ended) {
  if (auto err = conn.ready())
    return err;
  auto& cfg = conn.config();
  std::vector<redis_command> cmds;
  cmds.push_back(
    conn.evalsha(redis_script::ev_add, event_args(cfg.prefix, rec.id, xs)));
  for (auto& doc : docs)
    cmds.push_back(conn.evalsha(
      redis_script::res_put, put_args(cfg.prefix, doc, put_mode::ensure, {})));
  cmds.push_back(
    conn.evalsha(redis_script::run_put, run_args(cfg.prefix, rec)));
  auto retention = std::chrono::duration_cast<std::chrono::milliseconds>(
    cfg.event_retention);
  if (ended && retention.count() > 0)
    cmds.push_back({"PEXPIRE", redis_keys::events(cfg.prefix, rec.id),
                    std::to_string(retention.count())});
  auto exec = conn.transaction(cmds);
  if (!exec)
    return exec.error();
  // Replies: ev_add, one per object, run_put, [PEXPIRE].
  auto& replies = (*exec)->element;
  auto scripts = docs.size() + 2;
  for (size_t i = 0; i < cmds.size(); ++i) {
    auto& r = *replies[i];
    bool object = i >= 1 && i <= docs.size();
    if (r.type == REDIS_REPLY_ERROR)
      return from_error_reply(r);
    if (i < scripts && !object)
      if (auto err = script_error(r))
        return err;
  }
  return caf::ok_atom::value;
}

} // namespace

caf::expected<caf::ok_atom> open_run(redis_connection& conn,
                                     const run_record& rec,
                                     const std::vector<resource_doc>& docs,
                                     const std::vector<event_frame>& xs) {
  return write_run_step(conn, rec, xs, docs, false);
}

caf::expected<caf::ok_atom>
finish_run(redis_connection& conn, const run_record& rec,
           const std::vector<event_frame>& xs,
           const std::vector<message_record>& msgs) {
  std::vector<resource_doc> docs;
  docs.reserve(msgs.size());
  for (auto& msg : msgs)
    docs.push_back(message_doc(msg));
  return write_run_step(conn, rec, xs, docs, true);
}

caf::expected<caf::ok_atom> ping(redis_connection& conn) {
  auto reply = conn.call({"PING"});
  if (!reply)
    return reply.error();
  if (text_of(reply->get()) != "PONG")
    return malformed("PING");
  return caf::ok_atom::value;
}

caf::expected<std::vector<run_record>> live_runs(redis_connection& conn) {
  auto& prefix = conn.config().prefix;
  auto ids = conn.call({"SMEMBERS", redis_keys::live_runs(prefix)});
  if (!ids)
    return ids.error();
  std::vector<redis_command> cmds;
  std::vector<std::string> names;
  for (size_t i = 0; i < (*ids)->elements; ++i) {
    names.emplace_back(text_of((*ids)->element[i]));
    cmds.push_back({"HGETALL", redis_keys::run(prefix, names.back())});
  }
  std::vector<run_record> out;
  if (cmds.empty())
    return out;
  auto replies = conn.pipeline(cmds);
  if (!replies)
    return replies.error();
  for (size_t i = 0; i < names.size(); ++i) {
    auto& r = *(*replies)[i];
    if (r.type != REDIS_REPLY_ARRAY || r.elements == 0)
      continue; // deleted in between
    auto rec = run_from(names[i], r);
    if (!rec)
      return rec.error();
    out.push_back(std::move(*rec));
  }
  return out;
}

} // namespace parley::redis_ops
