#include "storage/redis_ops.hpp"

#include <iterator>

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

/// What one command of a run step is, for reading its reply.
enum class step_part { event, object, script, plain };

/// An event's XADD without a script: in a run's normal life every event
/// is new and comes after the ones stored, which is all XADD needs. Redis
/// refuses it ("equal or smaller") for a repeat or a late event; those go
/// to the ev_add script afterwards, which tells the two apart.
redis_command event_xadd(const std::string& key, const event_frame& x) {
  return {"XADD",
          key,
          std::to_string(x.seq) + "-1",
          "chat_session_id",
          x.chat_session_id,
          "type",
          x.type,
          "json",
          x.json,
          "terminal",
          x.terminal ? "1" : "0"};
}

/// The run_put script's writes without the script: a run keeps its
/// conversation from its first step to its last, so the script's one
/// check (a record moved to another conversation) cannot apply here.
void add_run_writes(std::vector<redis_command>& cmds,
                    std::vector<step_part>& parts, const std::string& prefix,
                    const run_record& rec) {
  redis_command hset{"HSET", redis_keys::run(prefix, rec.id)};
  auto fields = run_fields(rec);
  hset.insert(hset.end(), std::make_move_iterator(fields.begin()),
              std::make_move_iterator(fields.end()));
  cmds.push_back(std::move(hset));
  cmds.push_back({"SADD",
                  redis_keys::conversation_runs(prefix, rec.conversation_id),
                  rec.id});
  cmds.push_back({is_final(rec.status) ? "SREM" : "SADD",
                  redis_keys::live_runs(prefix), rec.id});
  parts.insert(parts.end(), 3, step_part::plain);
}

bool is_out_of_order(const redisReply& r) {
  return r.type == REDIS_REPLY_ERROR
         && std::string_view{r.str, r.len}.find("equal or smaller")
              != std::string_view::npos;
}

/// A run step's commands and what is needed to read their replies.
struct step_commands {
  std::vector<redis_command> cmds;
  std::vector<step_part> parts;
};

/// One step of a run as one MULTI/EXEC: its events, objects written with
/// put_mode::ensure, its record and, once it ended, the expiry of its
/// stream. Scripts only where Redis must decide (an object that may exist),
/// since a script costs Redis several times its commands (see
/// docs/benchmarks.md).
step_commands commands_of(const redis_connection& conn, const run_step& step) {
  auto& cfg = conn.config();
  auto& rec = step.rec;
  auto stream = redis_keys::events(cfg.prefix, rec.id);
  step_commands out;
  auto& cmds = out.cmds;
  auto& parts = out.parts;
  cmds.reserve(step.events.size() + step.docs.size() + 5);
  if (step.events.empty()) {
    // The script makes an empty log exist, as the memory store does.
    cmds.push_back(conn.evalsha(redis_script::ev_add,
                                event_args(cfg.prefix, rec.id, step.events)));
    parts.push_back(step_part::script);
  }
  for (auto& x : step.events) {
    cmds.push_back(event_xadd(stream, x));
    parts.push_back(step_part::event);
  }
  for (auto& doc : step.docs) {
    cmds.push_back(conn.evalsha(
      redis_script::res_put, put_args(cfg.prefix, doc, put_mode::ensure, {})));
    parts.push_back(step_part::object);
  }
  add_run_writes(cmds, parts, cfg.prefix, rec);
  auto retention = std::chrono::duration_cast<std::chrono::milliseconds>(
    cfg.event_retention);
  if (step.ended && retention.count() > 0) {
    cmds.push_back({"PEXPIRE", stream, std::to_string(retention.count())});
    parts.push_back(step_part::plain);
  }
  return out;
}

/// Reads a step's EXEC reply, whose commands were of the kinds `parts`. An
/// object the store refuses (its script's own error answer) is skipped, as
/// in the memory store; anything else that failed fails the step. Refused
/// events go to ev_add (a round trip).
caf::expected<caf::ok_atom> settle(redis_connection& conn, const run_step& step,
                                   const std::vector<step_part>& parts,
                                   const redisReply& exec) {
  std::vector<event_frame> refused;
  for (size_t i = 0, event = 0; i < parts.size(); ++i) {
    auto& r = *exec.element[i];
    if (parts[i] == step_part::event) {
      if (is_out_of_order(r)) {
        refused.push_back(step.events[event++]);
        continue;
      }
      ++event;
    }
    if (r.type == REDIS_REPLY_ERROR)
      return from_error_reply(r);
    if (parts[i] == step_part::script)
      if (auto err = script_error(r))
        return err;
  }
  if (refused.empty())
    return caf::ok_atom::value;
  // Rare: a step written twice (a retry after a lost reply) or a batch that
  // arrived after a later one. The script keeps the first copy of a repeat
  // and puts a late event in its place.
  auto answer
    = conn.eval(redis_script::ev_add,
                event_args(conn.config().prefix, step.rec.id, refused));
  if (!answer)
    return answer.error();
  if (auto err = script_error(**answer))
    return err;
  return caf::ok_atom::value;
}

} // namespace

run_step open_step(run_record rec, std::vector<resource_doc> docs,
                   std::vector<event_frame> xs) {
  return run_step{std::move(rec), std::move(xs), std::move(docs), false};
}

run_step finish_step(run_record rec, std::vector<event_frame> xs,
                     const std::vector<message_record>& msgs) {
  std::vector<resource_doc> docs;
  docs.reserve(msgs.size());
  for (auto& msg : msgs)
    docs.push_back(message_doc(msg));
  return run_step{std::move(rec), std::move(xs), std::move(docs), true};
}

std::vector<caf::expected<caf::ok_atom>>
write_run_steps(redis_connection& conn, const std::vector<run_step>& steps) {
  std::vector<caf::expected<caf::ok_atom>> out;
  out.reserve(steps.size());
  // Script hashes are known once the connection is ready.
  if (auto err = conn.ready()) {
    out.assign(steps.size(), err);
    return out;
  }
  std::vector<std::vector<step_part>> parts;
  std::vector<std::vector<redis_command>> blocks;
  parts.reserve(steps.size());
  blocks.reserve(steps.size());
  for (auto& step : steps) {
    auto made = commands_of(conn, step);
    parts.push_back(std::move(made.parts));
    blocks.push_back(std::move(made.cmds));
  }
  auto outcomes = conn.transactions(blocks);
  if (!outcomes) {
    out.assign(steps.size(), outcomes.error());
    return out;
  }
  for (size_t i = 0; i < steps.size(); ++i) {
    auto& outcome = (*outcomes)[i];
    if (outcome.error)
      out.emplace_back(outcome.error);
    else
      out.push_back(settle(conn, steps[i], parts[i], *outcome.reply));
  }
  return out;
}

caf::expected<caf::ok_atom> open_run(redis_connection& conn,
                                     const run_record& rec,
                                     const std::vector<resource_doc>& docs,
                                     const std::vector<event_frame>& xs) {
  return std::move(write_run_steps(conn, {open_step(rec, docs, xs)}).front());
}

caf::expected<caf::ok_atom>
finish_run(redis_connection& conn, const run_record& rec,
           const std::vector<event_frame>& xs,
           const std::vector<message_record>& msgs) {
  return std::move(write_run_steps(conn, {finish_step(rec, xs, msgs)}).front());
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
