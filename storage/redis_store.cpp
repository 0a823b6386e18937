#include "storage/redis_store.hpp"

#include <algorithm>
#include <charconv>
#include <functional>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "storage/redis_worker.hpp"

namespace parley {

namespace {

/// Routes every message to one of the workers. The affinity key keeps the
/// writes of one run (run_put, ev_add, run_fin) on one connection, in the
/// order they were sent; resources spread by kind. Requests with different
/// keys may overtake each other (see docs/storage.md).
struct redis_front_state {
  std::vector<redis_worker_actor> workers;

  static inline const char* name = "redis_store";

  const redis_worker_actor& pick(const std::string& key) const {
    return workers[std::hash<std::string>{}(key) % workers.size()];
  }
};

store_actor::behavior_type
redis_front(store_actor::stateful_pointer<redis_front_state> self,
            redis_store_config cfg) {
  if (cfg.log)
    cfg.log->info("redis store: {}:{} db {}, prefix '{}', {} connection(s)",
                  cfg.host, cfg.port, cfg.db, cfg.prefix, cfg.connections);
  // Linked: the workers end with the front (and it with a failed worker).
  auto n = std::max<size_t>(cfg.connections, 1);
  for (size_t i = 0; i < n; ++i)
    self->state.workers.push_back(
      self->spawn<caf::detached + caf::linked>(redis_worker, cfg));
  auto& st = self->state;
  return {
    [self, &st](res_put_atom atm, resource_doc& doc, put_mode mode,
                std::vector<reference>& refs) {
      auto& worker = st.pick(doc.kind);
      return self->delegate(worker, atm, std::move(doc), mode, std::move(refs));
    },
    [self, &st](res_get_atom atm, std::string& kind, std::string& id) {
      auto& worker = st.pick(kind);
      return self->delegate(worker, atm, std::move(kind), std::move(id));
    },
    [self, &st](res_list_atom atm, resource_query& q) {
      auto& worker = st.pick(q.kind);
      return self->delegate(worker, atm, std::move(q));
    },
    [self, &st](res_del_atom atm, std::string& kind, std::string& id,
                std::vector<cascade_rule>& cascades,
                std::vector<cascade_rule>& restricts) {
      auto& worker = st.pick(kind);
      return self->delegate(worker, atm, std::move(kind), std::move(id),
                            std::move(cascades), std::move(restricts));
    },
    [self, &st](ev_drop_atom atm, std::string& conversation_id) {
      auto& worker = st.pick(conversation_id);
      return self->delegate(worker, atm, std::move(conversation_id));
    },
    [self, &st](health_atom atm) {
      return self->delegate(st.pick(std::string{}), atm);
    },
    [self, &st](run_live_atom atm) {
      return self->delegate(st.pick(std::string{}), atm);
    },
    [self, &st](run_put_atom atm, run_record& rec) {
      auto& worker = st.pick(rec.id);
      return self->delegate(worker, atm, std::move(rec));
    },
    [self, &st](run_get_atom atm, std::string& id) {
      auto& worker = st.pick(id);
      return self->delegate(worker, atm, std::move(id));
    },
    [self, &st](ev_add_atom atm, std::string& run_id,
                std::vector<event_frame>& xs) {
      auto& worker = st.pick(run_id);
      return self->delegate(worker, atm, std::move(run_id), std::move(xs));
    },
    [self, &st](ev_get_atom atm, std::string& run_id, uint64_t after,
                uint32_t limit) {
      auto& worker = st.pick(run_id);
      return self->delegate(worker, atm, std::move(run_id), after, limit);
    },
    [self, &st](run_open_atom atm, run_record& rec,
                std::vector<resource_doc>& docs, std::vector<event_frame>& xs) {
      auto& worker = st.pick(rec.id);
      return self->delegate(worker, atm, std::move(rec), std::move(docs),
                            std::move(xs));
    },
    [self, &st](run_fin_atom atm, run_record& rec, std::vector<event_frame>& xs,
                std::vector<message_record>& msgs) {
      auto& worker = st.pick(rec.id);
      return self->delegate(worker, atm, std::move(rec), std::move(xs),
                            std::move(msgs));
    },
  };
}

template<class Int>
std::optional<Int> parse_number(std::string_view s) {
  Int x = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size())
    return std::nullopt;
  return x;
}

/// Splits "host", "host:port", "[v6]" or "[v6]:port" into `host` and
/// `port` (empty if absent); false if malformed.
bool split_authority(std::string_view authority, std::string& host,
                     std::string_view& port) {
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return false;
    host = std::string{authority.substr(1, close - 1)};
    auto rest = authority.substr(close + 1);
    if (rest.empty())
      return true;
    if (rest.front() != ':' || rest.size() == 1)
      return false;
    port = rest.substr(1);
    return true;
  }
  auto colon = authority.find(':');
  host = std::string{authority.substr(0, colon)};
  if (colon == std::string_view::npos)
    return true;
  port = authority.substr(colon + 1);
  return !port.empty();
}

} // namespace

std::optional<redis_store_config> parse_redis_url(std::string_view url) {
  constexpr std::string_view scheme = "redis://";
  if (url.substr(0, scheme.size()) != scheme
      || url.find_first_of("@?#") != std::string_view::npos)
    return std::nullopt;
  url.remove_prefix(scheme.size());
  auto slash = url.find('/');
  auto path = slash == std::string_view::npos ? std::string_view{}
                                              : url.substr(slash + 1);
  redis_store_config cfg;
  std::string_view port;
  if (!split_authority(url.substr(0, slash), cfg.host, port)
      || cfg.host.empty())
    return std::nullopt;
  if (!port.empty()) {
    auto p = parse_number<uint16_t>(port);
    if (!p || *p == 0)
      return std::nullopt;
    cfg.port = *p;
  }
  if (!path.empty()) {
    auto db = parse_number<int>(path);
    if (!db || *db < 0)
      return std::nullopt;
    cfg.db = *db;
  }
  return cfg;
}

store_actor spawn_redis_store(caf::actor_system& sys, redis_store_config cfg) {
  return sys.spawn(redis_front, std::move(cfg));
}

} // namespace parley
