// The resources that shape an agent (personas, modules, prompts, flows,
// conversations, messages) and the REST request bodies, each declared once
// as a schema. Routes, validation, storage indexes and the OpenAPI document
// are all derived from the tables here: a new kind is one entry in
// resource_kinds().
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/records.hpp"
#include "protocol/schema.hpp"

namespace parley {

/// A field value the store can look objects up by.
struct index_entry {
  std::string field;
  std::string value;
};

/// One stored object as clients see it: `json` is the whole object,
/// `id`, `created_at` and `updated_at` included.
struct resource_doc {
  std::string kind;
  std::string id;
  std::string json;
  std::vector<index_entry> index;  ///< indexed fields that are set
  std::vector<index_entry> unique; ///< unique fields that are set
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

/// How a write treats an object that already exists (or does not).
enum class put_mode : uint8_t {
  create,  ///< conflict if the id exists
  replace, ///< not_found unless the id exists; keeps created_at
  ensure,  ///< create if absent, else leave the stored one alone
};

/// Which objects of a kind to list: all of them, or those whose indexed
/// `field` equals `value`; in insertion order.
struct resource_query {
  std::string kind;
  std::string field;
  std::string value;
  uint64_t offset = 0;
  uint64_t limit = 50;
};

struct resource_page {
  std::vector<resource_doc> items;
  uint64_t total = 0; ///< matches before offset/limit
};

/// Objects of `kind` whose `field` holds the deleted object's id go with it.
struct cascade_rule {
  std::string kind;
  std::string field;
};

/// A query parameter that filters a list by an indexed field.
struct list_filter {
  std::string param;
  std::string field;
};

/// `GET /api/{kind}/{path}/{id}`: the objects whose `field` is `id`.
struct lookup_route {
  std::string path;
  std::string field;
};

struct resource_kind {
  std::string kind; ///< the path segment: /api/{kind}
  object_schema schema;
  std::vector<list_filter> filters;
  std::vector<lookup_route> lookups;
  std::vector<cascade_rule> cascades;
  std::string summary;
};

/// The nine kinds; the order is the order of the API documentation.
const std::vector<resource_kind>& resource_kinds();
const resource_kind* find_kind(std::string_view kind) noexcept;

/// Request bodies of the agent routes.
const object_schema& run_agent_body();
const object_schema& chat_send_body();
const object_schema& template_resolve_body();
/// POST /api/keys (admins).
const object_schema& api_key_body();

/// The stored form of a validated object: id and timestamps added, index
/// and unique entries taken from the schema.
resource_doc make_doc(const resource_kind& kind, std::string id,
                      const validated_object& obj, int64_t created_at_ms,
                      int64_t updated_at_ms);

/// Messages and conversations that chat sessions write, as the same
/// resources REST clients read (stored under their owner's scoped kind).
resource_doc message_doc(const message_record& rec);
resource_doc conversation_doc(const conversation_record& rec);

/// Kinds and fields that point at objects of `kind` (to refuse deleting an
/// object still referenced), cascades excluded.
std::vector<cascade_rule> referrers_of(const resource_kind& kind);

template<class Inspector>
auto inspect(Inspector& f, index_entry& x) {
  return f(x.field, x.value);
}

template<class Inspector>
auto inspect(Inspector& f, resource_doc& x) {
  return f(x.kind, x.id, x.json, x.index, x.unique, x.created_at_ms,
           x.updated_at_ms);
}

template<class Inspector>
auto inspect(Inspector& f, resource_query& x) {
  return f(x.kind, x.field, x.value, x.offset, x.limit);
}

template<class Inspector>
auto inspect(Inspector& f, resource_page& x) {
  return f(x.items, x.total);
}

template<class Inspector>
auto inspect(Inspector& f, cascade_rule& x) {
  return f(x.kind, x.field);
}

} // namespace parley
