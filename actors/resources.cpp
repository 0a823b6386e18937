#include "actors/resources.hpp"

#include <limits>

#include <caf/all.hpp>

#include "actors/conversation_claims.hpp"
#include "protocol/codec.hpp"
#include "protocol/ids.hpp"
#include "protocol/owner.hpp"
#include "protocol/templates.hpp"

namespace parley {

namespace {

struct resources_state {
  store_actor store;
  server_options options;
  id_generator rng;

  static inline const char* name = "resources";
};

using resources_ptr = resources_actor::stateful_pointer<resources_state>;

caf::error refused(const decode_error& err) {
  return make_error(err.code, err.message, err.field);
}

caf::error unknown_kind(const std::string& kind) {
  return make_error(error_code::not_found, "no resources of kind " + kind);
}

/// The store names kinds as scoped to their owner; clients see plain ones.
caf::error unscoped(caf::error err, const std::string& scope) {
  if (scope.empty() || err.category() != error_category)
    return err;
  return make_error(to_error_code(err),
                    without_scope(error_message(err), scope), error_field(err));
}

void unscope(resource_doc& doc) {
  doc.kind = std::string{plain_kind(doc.kind)};
}

void unscope(resource_page& page) {
  for (auto& doc : page.items)
    unscope(doc);
}

void unscope(caf::ok_atom&) {
  // Nothing names a kind.
}

/// Asks the store for something of `owner`'s and hands the reply (or error)
/// to `rp`, in the terms clients use.
template<class Reply, class... Ts>
void forward_to_store(resources_ptr self, caf::typed_response_promise<Reply> rp,
                      const std::string& owner, Ts&&... xs) {
  auto& st = self->state;
  self->request(st.store, st.options.store_timeout, std::forward<Ts>(xs)...)
    .then(
      [rp](Reply& reply) mutable {
        unscope(reply);
        rp.deliver(std::move(reply));
      },
      [rp, scope = owner_scope(owner)](caf::error& err) mutable {
        rp.deliver(unscoped(std::move(err), scope));
      });
}

/// References as the store checks them: to objects of the same owner.
std::vector<reference> scoped(std::vector<reference> refs,
                              const std::string& owner) {
  for (auto& ref : refs)
    ref.kind = scoped_kind(ref.kind, owner);
  return refs;
}

std::vector<cascade_rule> scoped(std::vector<cascade_rule> rules,
                                 const std::string& owner) {
  for (auto& rule : rules)
    rule.kind = scoped_kind(rule.kind, owner);
  return rules;
}

/// `doc` as the store keeps it for `owner`.
resource_doc owned(resource_doc doc, const std::string& owner) {
  doc.kind = scoped_kind(doc.kind, owner);
  return doc;
}

/// The kind and the body checked against its schema, or why not.
std::variant<std::pair<const resource_kind*, validated_object>, caf::error>
checked_body(const std::string& kind, const std::string& body) {
  auto* spec = find_kind(kind);
  if (!spec)
    return unknown_kind(kind);
  auto checked = validate(spec->schema, body);
  if (auto err = std::get_if<decode_error>(&checked))
    return refused(*err);
  return std::make_pair(spec, std::get<validated_object>(std::move(checked)));
}

caf::result<resource_doc> create(resources_ptr self, const std::string& owner,
                                 const std::string& kind,
                                 const std::string& body) {
  auto checked = checked_body(kind, body);
  if (auto err = std::get_if<caf::error>(&checked))
    return std::move(*err);
  auto& [spec, obj] = std::get<0>(checked);
  auto now = unix_time_ms();
  auto doc
    = owned(make_doc(*spec, make_uuid(self->state.rng), obj, now, now), owner);
  auto refs = scoped(references_of(spec->schema, obj), owner);
  auto rp = self->make_response_promise<resource_doc>();
  if (kind != "conversations") {
    forward_to_store(self, rp, owner, res_put_atom::value, std::move(doc),
                     put_mode::create, std::move(refs));
    return rp;
  }
  // A conversation's id is also what chats name it by: claim it first, so
  // that no other user's chat can take it (actors/conversation_claims.hpp).
  auto& st = self->state;
  self
    ->request(st.store, st.options.store_timeout, res_put_atom::value,
              claim_of(doc.id, owner), put_mode::ensure,
              std::vector<reference>{})
    .then(
      [self, rp, owner, doc, refs](const resource_doc&) mutable {
        forward_to_store(self, rp, owner, res_put_atom::value, std::move(doc),
                         put_mode::create, std::move(refs));
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

caf::result<resource_doc> update(resources_ptr self, const std::string& owner,
                                 const std::string& kind, const std::string& id,
                                 const std::string& body) {
  auto checked = checked_body(kind, body);
  if (auto err = std::get_if<caf::error>(&checked))
    return std::move(*err);
  auto spec = std::get<0>(checked).first;
  auto obj = std::move(std::get<0>(checked).second);
  auto rp = self->make_response_promise<resource_doc>();
  auto& st = self->state;
  // The stored object's created_at survives a full replacement.
  self
    ->request(st.store, st.options.store_timeout, res_get_atom::value,
              scoped_kind(kind, owner), id)
    .then(
      [self, rp, owner, spec, obj, id](resource_doc& old) mutable {
        auto doc = make_doc(*spec, id, obj, old.created_at_ms, unix_time_ms());
        forward_to_store(self, rp, owner, res_put_atom::value,
                         owned(std::move(doc), owner), put_mode::replace,
                         scoped(references_of(spec->schema, obj), owner));
      },
      [rp, scope = owner_scope(owner)](caf::error& err) mutable {
        rp.deliver(unscoped(std::move(err), scope));
      });
  return rp;
}

caf::result<caf::ok_atom> remove(resources_ptr self, const std::string& owner,
                                 const std::string& kind,
                                 const std::string& id) {
  auto* spec = find_kind(kind);
  if (!spec)
    return unknown_kind(kind);
  auto rp = self->make_response_promise<caf::ok_atom>();
  forward_to_store(self, rp, owner, res_del_atom::value,
                   scoped_kind(kind, owner), id, scoped(spec->cascades, owner),
                   scoped(referrers_of(*spec), owner));
  return rp;
}

caf::result<resource_doc> get(resources_ptr self, const std::string& owner,
                              const std::string& kind, const std::string& id) {
  auto rp = self->make_response_promise<resource_doc>();
  forward_to_store(self, rp, owner, res_get_atom::value,
                   scoped_kind(kind, owner), id);
  return rp;
}

caf::result<resource_page> list(resources_ptr self, const std::string& owner,
                                resource_query q) {
  q.kind = scoped_kind(q.kind, owner);
  auto rp = self->make_response_promise<resource_page>();
  forward_to_store(self, rp, owner, res_list_atom::value, std::move(q));
  return rp;
}

std::string resolved_json(const resolved_template& out) {
  std::string json
    = R"({"resolved":")" + json_escape(out.text) + R"(","modules_used":[)";
  for (size_t i = 0; i < out.modules_used.size(); ++i) {
    json += i == 0 ? "\"" : ",\"";
    json += json_escape(out.modules_used[i]) + "\"";
  }
  return json + "]}";
}

/// The active modules by name, from the store's module list.
std::variant<string_map, decode_error> modules_of(const resource_page& page) {
  string_map modules;
  for (auto& doc : page.items) {
    string_map fields;
    auto added = add_scalars(doc.json, "module.", "modules", fields);
    if (auto err = std::get_if<decode_error>(&added))
      return *err;
    if (fields["module.is_active"] == "false")
      continue;
    modules[fields["module.name"]] = fields["module.content"];
  }
  return modules;
}

void finish_resolve(caf::typed_response_promise<std::string> rp,
                    const std::string& text, const string_map& modules,
                    const string_map& variables) {
  auto out = resolve_template(text, modules, variables);
  if (auto err = std::get_if<decode_error>(&out))
    rp.deliver(refused(*err));
  else
    rp.deliver(resolved_json(std::get<resolved_template>(out)));
}

caf::result<std::string> resolve(resources_ptr self, const std::string& owner,
                                 const std::string& body) {
  auto checked = validate(template_resolve_body(), body);
  if (auto err = std::get_if<decode_error>(&checked))
    return refused(*err);
  auto& obj = std::get<validated_object>(checked);
  string_map variables;
  if (obj.has("variables")) {
    auto added
      = add_scalars(obj.get("variables")->json, "", "variables", variables);
    if (auto err = std::get_if<decode_error>(&added))
      return refused(*err);
  }
  auto rp = self->make_response_promise<std::string>();
  auto& st = self->state;
  auto text = obj.text("template");
  auto persona_id = obj.text("persona_id");
  resource_query all_modules{scoped_kind("modules", owner),
                             {},
                             {},
                             0,
                             std::numeric_limits<uint64_t>::max()};
  self
    ->request(st.store, st.options.store_timeout, res_list_atom::value,
              std::move(all_modules))
    .then(
      [self, rp, owner, text, persona_id,
       variables](resource_page& page) mutable {
        auto modules = modules_of(page);
        if (auto err = std::get_if<decode_error>(&modules)) {
          rp.deliver(refused(*err));
          return;
        }
        auto& known = std::get<string_map>(modules);
        if (persona_id.empty()) {
          finish_resolve(rp, text, known, variables);
          return;
        }
        auto& st = self->state;
        self
          ->request(st.store, st.options.store_timeout, res_get_atom::value,
                    scoped_kind("personas", owner), persona_id)
          .then(
            [rp, text, known, variables](resource_doc& persona) mutable {
              add_scalars(persona.json, "persona.", "persona_id", variables);
              finish_resolve(rp, text, known, variables);
            },
            [rp, persona_id](caf::error& err) mutable {
              if (to_error_code(err) == error_code::not_found)
                rp.deliver(make_error(error_code::validation_failed,
                                      "field 'persona_id' names personas "
                                        + persona_id + ", which does not exist",
                                      "persona_id"));
              else
                rp.deliver(std::move(err));
            });
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

resources_actor::behavior_type resources(resources_ptr self, store_actor store,
                                         server_options options) {
  self->state.store = std::move(store);
  self->state.options = std::move(options);
  return {
    [self](create_atom, const std::string& owner, const std::string& kind,
           const std::string& body) { return create(self, owner, kind, body); },
    [self](update_atom, const std::string& owner, const std::string& kind,
           const std::string& id, const std::string& body) {
      return update(self, owner, kind, id, body);
    },
    [self](res_get_atom, const std::string& owner, const std::string& kind,
           const std::string& id) { return get(self, owner, kind, id); },
    [self](res_list_atom, const std::string& owner, resource_query& q) {
      return list(self, owner, std::move(q));
    },
    [self](res_del_atom, const std::string& owner, const std::string& kind,
           const std::string& id) { return remove(self, owner, kind, id); },
    [self](resolve_atom, const std::string& owner, const std::string& body) {
      return resolve(self, owner, body);
    },
  };
}

} // namespace

resources_actor spawn_resources(caf::actor_system& sys, store_actor store,
                                server_options options) {
  return sys.spawn(resources, std::move(store), std::move(options));
}

} // namespace parley
