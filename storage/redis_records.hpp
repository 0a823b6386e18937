// How the Redis store turns records into the words it sends and Redis
// replies back into records. No I/O here.
//
// Lists (an object's index and unique entries, references, cascade rules)
// travel and are stored as concatenated netstrings, "{length}:{bytes},":
// binary-safe, readable in redis-cli, and split by the Lua prelude.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "protocol/events.hpp"
#include "protocol/records.hpp"
#include "protocol/resources.hpp"
#include "protocol/schema.hpp"

struct redisReply;

namespace parley {

std::string pack_list(const std::vector<std::string>& xs);
/// nullopt if `s` is not a list of netstrings.
std::optional<std::vector<std::string>> split_list(std::string_view s);

/// field1, value1, field2, value2, ...
std::string pack_entries(const std::vector<index_entry>& xs);
std::optional<std::vector<index_entry>> split_entries(std::string_view s);

/// The ARGV of the res_put script.
std::vector<std::string> put_args(const std::string& prefix,
                                  const resource_doc& doc, put_mode mode,
                                  const std::vector<reference>& refs);

/// The ARGV of the res_del script.
std::vector<std::string> del_args(const std::string& prefix,
                                  const std::string& kind,
                                  const std::string& id,
                                  const std::vector<cascade_rule>& cascades,
                                  const std::vector<cascade_rule>& restricts);

/// The ARGV of the res_list script.
std::vector<std::string> list_args(const std::string& prefix,
                                   const resource_query& q);

/// An object from its id and the five stored strings at `fields` (json,
/// created_at, updated_at, index, unique).
caf::expected<resource_doc> doc_from(const std::string& kind, std::string id,
                                     redisReply* const* fields);

/// The error a script answered ({code, message[, field]}), or none if it
/// answered {"ok", ...}.
caf::error script_error(const redisReply& answer);

/// The ARGV of the run_put script.
std::vector<std::string> run_args(const std::string& prefix,
                                  const run_record& rec);

/// The record as field, value pairs for HSET on its key: what run_from
/// reads back (and what the run_put script writes from run_args).
std::vector<std::string> run_fields(const run_record& rec);

/// A run from the reply to HGETALL on its key (an array of field, value).
caf::expected<run_record> run_from(const std::string& id,
                                   const redisReply& fields);

/// The ARGV of the ev_add script.
std::vector<std::string> event_args(const std::string& prefix,
                                    const std::string& run_id,
                                    const std::vector<event_frame>& xs);

/// Events from the reply to XRANGE on a run's stream.
caf::expected<std::vector<event_frame>> events_from(const redisReply& entries);

/// The text of a string or status reply; empty for any other.
std::string_view text_of(const redisReply* r);

} // namespace parley
