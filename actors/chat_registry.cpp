#include "actors/chat_registry.hpp"

#include <random>
#include <unordered_map>

#include <caf/all.hpp>

#include "protocol/ids.hpp"

namespace parley {

namespace {

struct chat_registry_state {
  chat_session_deps deps;
  std::mt19937_64 rng{std::random_device{}()};
  std::unordered_map<std::string, chat_session_actor> sessions;
  /// Which conversation each run belongs to, for cancel/status by run id.
  std::unordered_map<std::string, std::string> conversation_of_run;

  static inline const char* name = "chat_registry";
};

using registry_ptr = chat_registry_actor::stateful_pointer<chat_registry_state>;

chat_session_actor session_of(registry_ptr self,
                              const std::string& conversation_id,
                              const std::string& agent_name) {
  auto& st = self->state;
  auto& session = st.sessions[conversation_id];
  if (!session) {
    session = spawn_chat_session(
      self, conversation_id,
      agent_name.empty() ? st.deps.options.default_agent : agent_name, st.deps);
    // Sessions live and die with their registry.
    self->link_to(session);
  }
  return session;
}

/// Routes a request about one run to the session of its conversation. Runs
/// this registry never saw are looked up in the store first.
template<class Reply, class... Ts>
caf::result<Reply> route_by_run(registry_ptr self, const std::string& run_id,
                                Ts... xs) {
  auto& st = self->state;
  if (auto i = st.conversation_of_run.find(run_id);
      i != st.conversation_of_run.end())
    return self->delegate(session_of(self, i->second, {}), xs...);
  auto rp = self->make_response_promise<Reply>();
  self
    ->request(st.deps.store, st.deps.options.store_timeout, run_get_atom::value,
              run_id)
    .then(
      [self, rp, run_id, xs...](run_record& rec) mutable {
        self->state.conversation_of_run.emplace(run_id, rec.conversation_id);
        rp.delegate(session_of(self, rec.conversation_id, rec.agent_name),
                    xs...);
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

chat_registry_actor::behavior_type chat_registry(registry_ptr self,
                                                 chat_session_deps deps) {
  self->state.deps = std::move(deps);
  return {
    [self](run_atom, run_request& req, subscriber_actor& sub) {
      auto& st = self->state;
      if (req.conversation_id.empty())
        req.conversation_id = make_uuid(st.rng);
      if (req.run_id.empty())
        req.run_id = make_uuid(st.rng);
      st.conversation_of_run.emplace(req.run_id, req.conversation_id);
      return self->delegate(
        session_of(self, req.conversation_id, req.agent_name), run_atom::value,
        std::move(req), std::move(sub));
    },
    [self](cancel_atom, const std::string& run_id) {
      return route_by_run<run_record>(self, run_id, cancel_atom::value, run_id);
    },
    [self](status_atom, const std::string& run_id) {
      return route_by_run<run_record>(self, run_id, status_atom::value, run_id);
    },
    [self](subscribe_atom, subscriber_actor& sub,
           const std::string& conversation_id, const std::string& run_id,
           uint64_t last_seq) -> caf::result<std::vector<event_frame>> {
      if (!run_id.empty())
        return route_by_run<std::vector<event_frame>>(
          self, run_id, subscribe_atom::value, sub, run_id, last_seq);
      return self->delegate(session_of(self, conversation_id, {}),
                            subscribe_atom::value, std::move(sub),
                            std::string{}, last_seq);
    },
  };
}

} // namespace

chat_registry_actor spawn_chat_registry(caf::actor_system& sys,
                                        chat_session_deps deps) {
  return sys.spawn(chat_registry, std::move(deps));
}

} // namespace parley
