#include "actors/connection_registry.hpp"

#include <map>

#include <caf/all.hpp>

namespace parley {

namespace {

struct connection_registry_state {
  struct entry {
    std::string session_id;
    ws_session_actor session;
  };
  /// Keyed by address so that the down message of a session finds it.
  std::map<caf::actor_addr, entry> sessions;

  static inline const char* name = "connection_registry";
};

connection_registry_actor::behavior_type connection_registry(
  connection_registry_actor::stateful_pointer<connection_registry_state> self) {
  self->set_down_handler(
    [self](caf::down_msg& msg) { self->state.sessions.erase(msg.source); });
  return {
    [self](join_atom, std::string& session_id, ws_session_actor& session) {
      self->monitor(session);
      self->state.sessions.emplace(
        session.address(),
        connection_registry_state::entry{std::move(session_id), session});
    },
    [self](list_atom) {
      std::vector<std::string> ids;
      ids.reserve(self->state.sessions.size());
      for (auto& [addr, entry] : self->state.sessions)
        ids.push_back(entry.session_id);
      return ids;
    },
    [self](broadcast_atom, const std::string& message) {
      for (auto& [addr, entry] : self->state.sessions)
        self->send(entry.session, broadcast_atom::value, message);
      return static_cast<uint64_t>(self->state.sessions.size());
    },
  };
}

} // namespace

connection_registry_actor spawn_connection_registry(caf::actor_system& sys) {
  return sys.spawn(connection_registry);
}

} // namespace parley
