#include "actors/resources.hpp"

#include <limits>
#include <random>

#include <caf/all.hpp>

#include "protocol/codec.hpp"
#include "protocol/ids.hpp"
#include "protocol/templates.hpp"

namespace parley {

namespace {

struct resources_state {
  store_actor store;
  server_options options;
  std::mt19937_64 rng{std::random_device{}()};

  static inline const char* name = "resources";
};

using resources_ptr = resources_actor::stateful_pointer<resources_state>;

caf::error refused(const decode_error& err) {
  return make_error(err.code, err.message, err.field);
}

caf::error unknown_kind(const std::string& kind) {
  return make_error(error_code::not_found, "no resources of kind " + kind);
}

/// Asks the store and hands the reply (or error) to `rp`.
template<class Reply, class... Ts>
void forward_to_store(resources_ptr self, caf::typed_response_promise<Reply> rp,
                      Ts&&... xs) {
  auto& st = self->state;
  self->request(st.store, st.options.store_timeout, std::forward<Ts>(xs)...)
    .then([rp](Reply& reply) mutable { rp.deliver(std::move(reply)); },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
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

caf::result<resource_doc> create(resources_ptr self, const std::string& kind,
                                 const std::string& body) {
  auto checked = checked_body(kind, body);
  if (auto err = std::get_if<caf::error>(&checked))
    return std::move(*err);
  auto& [spec, obj] = std::get<0>(checked);
  auto now = unix_time_ms();
  auto doc = make_doc(*spec, make_uuid(self->state.rng), obj, now, now);
  auto rp = self->make_response_promise<resource_doc>();
  forward_to_store(self, rp, res_put_atom::value, std::move(doc),
                   put_mode::create, references_of(spec->schema, obj));
  return rp;
}

caf::result<resource_doc> update(resources_ptr self, const std::string& kind,
                                 const std::string& id,
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
    ->request(st.store, st.options.store_timeout, res_get_atom::value, kind, id)
    .then(
      [self, rp, spec, obj, id](resource_doc& old) mutable {
        auto doc = make_doc(*spec, id, obj, old.created_at_ms, unix_time_ms());
        forward_to_store(self, rp, res_put_atom::value, std::move(doc),
                         put_mode::replace, references_of(spec->schema, obj));
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

caf::result<caf::ok_atom> remove(resources_ptr self, const std::string& kind,
                                 const std::string& id) {
  auto* spec = find_kind(kind);
  if (!spec)
    return unknown_kind(kind);
  auto rp = self->make_response_promise<caf::ok_atom>();
  forward_to_store(self, rp, res_del_atom::value, kind, id, spec->cascades,
                   referrers_of(*spec));
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

caf::result<std::string> resolve(resources_ptr self, const std::string& body) {
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
  resource_query all_modules{
    "modules", {}, {}, 0, std::numeric_limits<uint64_t>::max()};
  self
    ->request(st.store, st.options.store_timeout, res_list_atom::value,
              std::move(all_modules))
    .then(
      [self, rp, text, persona_id, variables](resource_page& page) mutable {
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
                    std::string{"personas"}, persona_id)
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
    [self](create_atom, const std::string& kind, const std::string& body) {
      return create(self, kind, body);
    },
    [self](update_atom, const std::string& kind, const std::string& id,
           const std::string& body) { return update(self, kind, id, body); },
    [self](res_get_atom, const std::string& kind, const std::string& id) {
      return self->delegate(self->state.store, res_get_atom::value, kind, id);
    },
    [self](res_list_atom, resource_query& q) {
      return self->delegate(self->state.store, res_list_atom::value,
                            std::move(q));
    },
    [self](res_del_atom, const std::string& kind, const std::string& id) {
      return remove(self, kind, id);
    },
    [self](resolve_atom, const std::string& body) {
      return resolve(self, body);
    },
  };
}

} // namespace

resources_actor spawn_resources(caf::actor_system& sys, store_actor store,
                                server_options options) {
  return sys.spawn(resources, std::move(store), std::move(options));
}

} // namespace parley
