#include "actors/keys.hpp"

#include <limits>

#include <caf/all.hpp>

#include "protocol/codec.hpp"
#include "protocol/ids.hpp"
#include "protocol/templates.hpp"

#include "security/api_keys.hpp"

namespace parley {

namespace {

/// Not a resource kind: only this actor reaches it.
constexpr const char* keys_kind = "api_keys";

struct keys_state {
  store_actor store;
  key_ring_ptr ring;
  std::chrono::milliseconds refresh{0};
  server_options options;
  logger_ptr log;
  bool reload_failing = false;
  /// The first load is over; until then health_atom waits in `waiting`.
  bool loaded = false;
  std::vector<caf::typed_response_promise<caf::ok_atom>> waiting;

  static inline const char* name = "keys";
};

using keys_ptr = keys_actor::stateful_pointer<keys_state>;

resource_doc doc_of(const std::string& id, const std::string& user, bool admin,
                    const std::string& secret_hash, int64_t now) {
  resource_doc doc;
  doc.kind = keys_kind;
  doc.id = id;
  doc.json = R"({"id":")" + id + R"(","user":")" + json_escape(user)
             + R"(","admin":)" + (admin ? "true" : "false")
             + R"(,"secret_hash":")" + secret_hash + R"(","created_at_ms":)"
             + std::to_string(now) + "}";
  doc.index.push_back(index_entry{"user", user});
  doc.created_at_ms = now;
  doc.updated_at_ms = now;
  return doc;
}

struct stored_key {
  api_key_info info;
  std::string secret_hash;
};

std::optional<stored_key> key_of(const resource_doc& doc) {
  string_map fields;
  if (std::holds_alternative<decode_error>(
        add_scalars(doc.json, "", "api_key", fields)))
    return std::nullopt;
  stored_key out;
  out.info.id = doc.id;
  out.info.user = fields["user"];
  out.info.admin = fields["admin"] == "true";
  out.info.created_at_ms = doc.created_at_ms;
  out.secret_hash = fields["secret_hash"];
  return out;
}

resource_query all_keys() {
  return resource_query{
    keys_kind, {}, {}, 0, std::numeric_limits<uint64_t>::max()};
}

/// The first load is over, however it went: answers who waited for it.
void loaded(keys_ptr self) {
  auto& st = self->state;
  st.loaded = true;
  for (auto& rp : st.waiting)
    rp.deliver(caf::ok_atom::value);
  st.waiting.clear();
}

void reload(keys_ptr self) {
  auto& st = self->state;
  self
    ->request(st.store, st.options.store_timeout, res_list_atom::value,
              all_keys())
    .then(
      [self](const resource_page& page) {
        key_map keys;
        for (auto& doc : page.items)
          if (auto key = key_of(doc))
            keys.emplace(
              key->info.id,
              key_entry{key->info.user, key->info.admin, key->secret_hash});
        auto& st = self->state;
        st.ring->replace(std::move(keys));
        if (st.reload_failing && st.log)
          st.log->info("api keys: reloaded from the store again");
        st.reload_failing = false;
        loaded(self);
      },
      [self](const caf::error& err) {
        // The last good ring stays in use.
        auto& st = self->state;
        if (!st.reload_failing && st.log)
          st.log->warn("api keys: reload failed ({}); keeping {} known keys",
                       self->system().render(err), st.ring->size());
        st.reload_failing = true;
        loaded(self);
      });
}

caf::result<api_key_info> create(keys_ptr self, const std::string& user,
                                 bool admin) {
  if (user.empty() || user.size() > 200)
    return make_error(error_code::validation_failed,
                      "a key needs a user name of 1 to 200 characters", "user");
  auto parts = make_api_key();
  auto now = unix_time_ms();
  auto info = api_key_info{parts.id, user, admin, now, format_api_key(parts)};
  auto rp = self->make_response_promise<api_key_info>();
  auto& st = self->state;
  self
    ->request(st.store, st.options.store_timeout, res_put_atom::value,
              doc_of(parts.id, user, admin, hash_secret(parts.secret), now),
              put_mode::create, std::vector<reference>{})
    .then(
      [self, rp, info](const resource_doc&) mutable {
        reload(self);
        rp.deliver(info);
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

caf::result<std::vector<api_key_info>> list(keys_ptr self) {
  auto rp = self->make_response_promise<std::vector<api_key_info>>();
  auto& st = self->state;
  self
    ->request(st.store, st.options.store_timeout, res_list_atom::value,
              all_keys())
    .then(
      [rp](const resource_page& page) mutable {
        std::vector<api_key_info> out;
        for (auto& doc : page.items)
          if (auto key = key_of(doc))
            out.push_back(std::move(key->info));
        rp.deliver(std::move(out));
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

caf::result<caf::ok_atom> revoke(keys_ptr self, const std::string& id) {
  auto rp = self->make_response_promise<caf::ok_atom>();
  auto& st = self->state;
  self
    ->request(st.store, st.options.store_timeout, res_del_atom::value,
              std::string{keys_kind}, id, std::vector<cascade_rule>{},
              std::vector<cascade_rule>{})
    .then(
      [self, rp](caf::ok_atom) mutable {
        reload(self);
        rp.deliver(caf::ok_atom::value);
      },
      [rp, id](caf::error& err) mutable {
        if (to_error_code(err) == error_code::not_found)
          err = make_error(error_code::not_found, "no api key " + id);
        rp.deliver(std::move(err));
      });
  return rp;
}

keys_actor::behavior_type keys(keys_ptr self, store_actor store,
                               key_ring_ptr ring,
                               std::chrono::milliseconds refresh,
                               server_options options, logger_ptr log) {
  auto& st = self->state;
  st.store = std::move(store);
  st.ring = std::move(ring);
  st.refresh = refresh;
  st.options = std::move(options);
  st.log = std::move(log);
  // The first load at once, whatever the refresh interval.
  reload(self);
  if (refresh.count() > 0)
    self->delayed_send(self, refresh, flush_atom::value);
  return {
    [self](create_atom, const std::string& user, bool admin) {
      return create(self, user, admin);
    },
    [self](list_atom) { return list(self); },
    [self](res_del_atom, const std::string& id) { return revoke(self, id); },
    [self](health_atom) -> caf::result<caf::ok_atom> {
      auto& st = self->state;
      if (st.loaded)
        return caf::ok_atom::value;
      auto rp = self->make_response_promise<caf::ok_atom>();
      st.waiting.push_back(rp);
      return rp;
    },
    [self](flush_atom) {
      reload(self);
      self->delayed_send(self, self->state.refresh, flush_atom::value);
    },
  };
}

} // namespace

keys_actor spawn_keys(caf::actor_system& sys, store_actor store,
                      key_ring_ptr ring, std::chrono::milliseconds refresh,
                      server_options options, logger_ptr log) {
  return sys.spawn(keys, std::move(store), std::move(ring), refresh,
                   std::move(options), std::move(log));
}

} // namespace parley
