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

/// Hands a new run to its conversation's session.
caf::delegated<run_ticket> start(registry_ptr self, run_request& req,
                                 subscriber_actor& sub) {
  auto& st = self->state;
  st.conversation_of_run.emplace(req.run_id, req.conversation_id);
  return self->delegate(session_of(self, req.conversation_id, req.agent_name),
                        run_atom::value, std::move(req), std::move(sub));
}

/// A run whose id the client chose: the run it already started, if any
/// (also one this node only knows from the store), else a new one.
caf::result<run_ticket> start_once(registry_ptr self, run_request& req,
                                   subscriber_actor& sub) {
  auto& st = self->state;
  if (auto i = st.conversation_of_run.find(req.run_id);
      i != st.conversation_of_run.end()) {
    // Its session answers with the existing run (reuse_existing).
    req.conversation_id = i->second;
    return start(self, req, sub);
  }
  auto rp = self->make_response_promise<run_ticket>();
  self
    ->request(st.deps.store, st.deps.options.store_timeout, run_get_atom::value,
              req.run_id)
    .then(
      [rp](run_record& rec) mutable {
        rp.deliver(run_ticket{std::move(rec), false});
      },
      [self, rp, req, sub](caf::error& err) mutable {
        if (to_error_code(err) != error_code::not_found) {
          rp.deliver(std::move(err));
          return;
        }
        auto& st = self->state;
        // Another request with this id may have started it meanwhile.
        if (auto i = st.conversation_of_run.find(req.run_id);
            i != st.conversation_of_run.end())
          req.conversation_id = i->second;
        st.conversation_of_run.emplace(req.run_id, req.conversation_id);
        rp.delegate(session_of(self, req.conversation_id, req.agent_name),
                    run_atom::value, std::move(req), std::move(sub));
      });
  return rp;
}

/// `req` with its persona checked: sent back to the registry, it starts.
run_request admitted(run_request req) {
  req.persona_checked = true;
  return req;
}

caf::result<run_ticket> admit(registry_ptr self, run_request& req,
                              subscriber_actor& sub) {
  if (req.reuse_existing)
    return start_once(self, req, sub);
  return start(self, req, sub);
}

chat_registry_actor::behavior_type chat_registry(registry_ptr self,
                                                 chat_session_deps deps) {
  self->state.deps = std::move(deps);
  return {
    [self](run_atom, run_request& req,
           subscriber_actor& sub) -> caf::result<run_ticket> {
      auto& st = self->state;
      if (req.conversation_id.empty())
        req.conversation_id = make_uuid(st.rng);
      if (req.run_id.empty()) {
        req.run_id = make_uuid(st.rng);
        req.reuse_existing = false;
      }
      if (req.persona_id.empty() || req.persona_checked)
        return admit(self, req, sub);
      // The persona must exist before anything of the run does.
      auto rp = self->make_response_promise<run_ticket>();
      self
        ->request(st.deps.store, st.deps.options.store_timeout,
                  res_get_atom::value, std::string{"personas"}, req.persona_id)
        .then(
          [self, rp, req, sub](const resource_doc&) mutable {
            rp.delegate(caf::actor_cast<chat_registry_actor>(self),
                        run_atom::value, admitted(std::move(req)),
                        std::move(sub));
          },
          [rp, id = req.persona_id](caf::error& err) mutable {
            if (to_error_code(err) == error_code::not_found)
              err = make_error(error_code::validation_failed,
                               "field 'persona_id' names personas " + id
                                 + ", which does not exist",
                               "persona_id");
            rp.deliver(std::move(err));
          });
      return rp;
    },
    [self](cancel_atom, const std::string& run_id, bool keep_partial_answer) {
      return route_by_run<run_record>(self, run_id, cancel_atom::value, run_id,
                                      keep_partial_answer);
    },
    [self](ev_get_atom, const std::string& run_id, uint64_t after,
           uint32_t limit) {
      return route_by_run<std::vector<event_frame>>(
        self, run_id, ev_get_atom::value, run_id, after, limit);
    },
    [self](forget_atom,
           const std::string& conversation_id) -> caf::result<caf::ok_atom> {
      auto& st = self->state;
      if (auto i = st.sessions.find(conversation_id); i != st.sessions.end())
        return self->delegate(i->second, forget_atom::value);
      auto rp = self->make_response_promise<caf::ok_atom>();
      self
        ->request(st.deps.store, st.deps.options.store_timeout,
                  ev_drop_atom::value, conversation_id)
        .then([rp](uint64_t) mutable { rp.deliver(caf::ok_atom::value); },
              [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
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
