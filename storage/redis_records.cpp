#include "storage/redis_records.hpp"

#include <charconv>
#include <cstdint>
#include <limits>

#include <hiredis/hiredis.h>

#include "actors/interfaces.hpp"

namespace parley {

namespace {

template<class Int>
std::optional<Int> to_int(std::string_view s) {
  Int x = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
  if (ec != std::errc{} || end != s.data() + s.size())
    return std::nullopt;
  return x;
}

caf::error corrupt(const std::string& what) {
  return make_error(error_code::internal, "redis: corrupt " + what);
}

const char* mode_name(put_mode mode) {
  switch (mode) {
    case put_mode::create: return "create";
    case put_mode::replace: return "replace";
    case put_mode::ensure: return "ensure";
  }
  return "create";
}

std::optional<run_status> status_from(std::string_view name) {
  for (auto s :
       {run_status::queued, run_status::running, run_status::complete,
        run_status::cancelled, run_status::failed, run_status::interrupted})
    if (name == to_string(s))
      return s;
  return std::nullopt;
}

std::optional<error_code> code_from(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(error_code::internal); ++i)
    if (to_string(static_cast<error_code>(i)) == name)
      return static_cast<error_code>(i);
  return std::nullopt;
}

std::string pack_rules(const std::vector<cascade_rule>& rules) {
  std::vector<std::string> xs;
  for (auto& r : rules) {
    xs.push_back(r.kind);
    xs.push_back(r.field);
  }
  return pack_list(xs);
}

} // namespace

std::string_view text_of(const redisReply* r) {
  if (r == nullptr
      || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS))
    return {};
  return {r->str, r->len};
}

std::string pack_list(const std::vector<std::string>& xs) {
  std::string out;
  for (auto& x : xs) {
    out += std::to_string(x.size());
    out += ':';
    out += x;
    out += ',';
  }
  return out;
}

std::optional<std::vector<std::string>> split_list(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    auto colon = s.find(':');
    if (colon == std::string_view::npos)
      return std::nullopt;
    auto n = to_int<size_t>(s.substr(0, colon));
    if (!n || s.size() - colon - 1 < *n + 1 || s[colon + 1 + *n] != ',')
      return std::nullopt;
    out.emplace_back(s.substr(colon + 1, *n));
    s.remove_prefix(colon + *n + 2);
  }
  return out;
}

std::string pack_entries(const std::vector<index_entry>& xs) {
  std::vector<std::string> flat;
  for (auto& x : xs) {
    flat.push_back(x.field);
    flat.push_back(x.value);
  }
  return pack_list(flat);
}

std::optional<std::vector<index_entry>> split_entries(std::string_view s) {
  auto flat = split_list(s);
  if (!flat || flat->size() % 2 != 0)
    return std::nullopt;
  std::vector<index_entry> out;
  for (size_t i = 0; i < flat->size(); i += 2)
    out.push_back(index_entry{(*flat)[i], (*flat)[i + 1]});
  return out;
}

std::vector<std::string> put_args(const std::string& prefix,
                                  const resource_doc& doc, put_mode mode,
                                  const std::vector<reference>& refs) {
  std::vector<std::string> flat_refs;
  for (auto& r : refs) {
    flat_refs.push_back(r.field);
    flat_refs.push_back(r.kind);
    flat_refs.push_back(r.id);
  }
  return {prefix,
          doc.kind,
          doc.id,
          mode_name(mode),
          doc.json,
          std::to_string(doc.created_at_ms),
          std::to_string(doc.updated_at_ms),
          pack_entries(doc.index),
          pack_entries(doc.unique),
          pack_list(flat_refs)};
}

std::vector<std::string> del_args(const std::string& prefix,
                                  const std::string& kind,
                                  const std::string& id,
                                  const std::vector<cascade_rule>& cascades,
                                  const std::vector<cascade_rule>& restricts) {
  return {prefix, kind, id, pack_rules(cascades), pack_rules(restricts)};
}

std::vector<std::string> list_args(const std::string& prefix,
                                   const resource_query& q) {
  // ZRANGE takes signed 64-bit ranks; an empty start asks for the total only.
  constexpr uint64_t max_rank = std::numeric_limits<int64_t>::max();
  std::string start;
  std::string stop;
  if (q.limit > 0 && q.offset <= max_rank) {
    auto count = std::min(q.limit, max_rank - q.offset + 1);
    start = std::to_string(q.offset);
    stop = std::to_string(q.offset + count - 1);
  }
  return {prefix, q.kind, q.field, q.value, start, stop};
}

caf::expected<resource_doc> doc_from(const std::string& kind, std::string id,
                                     redisReply* const* fields) {
  resource_doc doc;
  doc.kind = kind;
  doc.id = std::move(id);
  doc.json = std::string{text_of(fields[0])};
  auto created = to_int<int64_t>(text_of(fields[1]));
  auto updated = to_int<int64_t>(text_of(fields[2]));
  auto index = split_entries(text_of(fields[3]));
  auto unique = split_entries(text_of(fields[4]));
  if (!created || !updated || !index || !unique)
    return corrupt(kind + " " + doc.id);
  doc.created_at_ms = *created;
  doc.updated_at_ms = *updated;
  doc.index = std::move(*index);
  doc.unique = std::move(*unique);
  return doc;
}

caf::error script_error(const redisReply& answer) {
  if (answer.type != REDIS_REPLY_ARRAY || answer.elements == 0)
    return make_error(error_code::internal, "redis: a script gave no answer");
  auto status = text_of(answer.element[0]);
  if (status == "ok")
    return {};
  auto code = code_from(status);
  if (!code || answer.elements < 2)
    return make_error(error_code::internal,
                      "redis: a script answered " + std::string{status});
  std::string message{text_of(answer.element[1])};
  if (answer.elements >= 3)
    return make_error(*code, std::move(message),
                      std::string{text_of(answer.element[2])});
  return make_error(*code, std::move(message));
}

std::vector<std::string> run_args(const std::string& prefix,
                                  const run_record& rec) {
  return {prefix,
          rec.id,
          rec.conversation_id,
          rec.agent_name,
          rec.query,
          to_string(rec.status),
          rec.result,
          rec.error,
          std::to_string(rec.last_seq),
          std::to_string(rec.created_at_ms),
          std::to_string(rec.updated_at_ms),
          rec.owner,
          rec.node};
}

std::vector<std::string> run_fields(const run_record& rec) {
  return {"conversation_id",
          rec.conversation_id,
          "agent_name",
          rec.agent_name,
          "query",
          rec.query,
          "status",
          to_string(rec.status),
          "result",
          rec.result,
          "error",
          rec.error,
          "last_seq",
          std::to_string(rec.last_seq),
          "created_at",
          std::to_string(rec.created_at_ms),
          "updated_at",
          std::to_string(rec.updated_at_ms),
          "owner",
          rec.owner,
          "node",
          rec.node};
}

caf::expected<run_record> run_from(const std::string& id,
                                   const redisReply& fields) {
  run_record rec;
  rec.id = id;
  bool ok = fields.type == REDIS_REPLY_ARRAY && fields.elements % 2 == 0;
  for (size_t i = 0; ok && i + 1 < fields.elements; i += 2) {
    auto name = text_of(fields.element[i]);
    auto value = text_of(fields.element[i + 1]);
    if (name == "conversation_id")
      rec.conversation_id = value;
    else if (name == "agent_name")
      rec.agent_name = value;
    else if (name == "query")
      rec.query = value;
    else if (name == "result")
      rec.result = value;
    else if (name == "error")
      rec.error = value;
    else if (name == "owner")
      rec.owner = value;
    else if (name == "node")
      rec.node = value;
    else if (name == "status") {
      auto status = status_from(value);
      ok = status.has_value();
      rec.status = status.value_or(run_status::failed);
    } else if (name == "last_seq") {
      auto seq = to_int<uint64_t>(value);
      ok = seq.has_value();
      rec.last_seq = seq.value_or(0);
    } else if (name == "created_at" || name == "updated_at") {
      auto ms = to_int<int64_t>(value);
      ok = ms.has_value();
      (name == "created_at" ? rec.created_at_ms : rec.updated_at_ms)
        = ms.value_or(0);
    }
  }
  if (!ok)
    return corrupt("run " + id);
  return rec;
}

std::vector<std::string> event_args(const std::string& prefix,
                                    const std::string& run_id,
                                    const std::vector<event_frame>& xs) {
  std::vector<std::string> args;
  args.reserve(2 + xs.size() * 5);
  args.push_back(prefix);
  args.push_back(run_id);
  for (auto& x : xs) {
    args.push_back(std::to_string(x.seq));
    args.push_back(x.chat_session_id);
    args.push_back(x.type);
    args.push_back(x.json);
    args.emplace_back(x.terminal ? "1" : "0");
  }
  return args;
}

caf::expected<std::vector<event_frame>> events_from(const redisReply& entries) {
  if (entries.type != REDIS_REPLY_ARRAY)
    return corrupt("event log");
  std::vector<event_frame> out;
  out.reserve(entries.elements);
  for (size_t i = 0; i < entries.elements; ++i) {
    auto* entry = entries.element[i];
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2
        || entry->element[1]->type != REDIS_REPLY_ARRAY)
      return corrupt("event log");
    auto id = text_of(entry->element[0]);
    auto seq = to_int<uint64_t>(id.substr(0, id.find('-')));
    if (!seq)
      return corrupt("event id");
    event_frame ev;
    ev.seq = *seq;
    auto* fields = entry->element[1];
    for (size_t j = 0; j + 1 < fields->elements; j += 2) {
      auto name = text_of(fields->element[j]);
      auto value = text_of(fields->element[j + 1]);
      if (name == "chat_session_id")
        ev.chat_session_id = value;
      else if (name == "type")
        ev.type = value;
      else if (name == "json")
        ev.json = value;
      else if (name == "terminal")
        ev.terminal = value == "1";
    }
    out.push_back(std::move(ev));
  }
  return out;
}

} // namespace parley
