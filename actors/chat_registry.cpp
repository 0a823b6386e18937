#include "actors/chat_registry.hpp"

#include <functional>
#include <unordered_map>
#include <unordered_set>

#include <caf/all.hpp>

#include "actors/conversation_claims.hpp"
#include "actors/recent_keys.hpp"
#include "protocol/ids.hpp"
#include "protocol/owner.hpp"

namespace parley {

namespace {

struct chat_registry_state {
  chat_session_deps deps;
  id_generator rng;
  std::unordered_map<std::string, chat_session_actor> sessions;
  /// Who each conversation this registry has seen belongs to.
  std::unordered_map<std::string, std::string> owner_of_conversation;
  /// Which conversation each run belongs to, for cancel/status by run id:
  /// the latest 65,536 runs (`routed`). An older one costs a store lookup,
  /// which remembers it again; without the bound a busy node would keep one
  /// entry per run it ever saw.
  std::unordered_map<std::string, std::string> conversation_of_run;
  recent_keys routed{65536};

  void remember_route(const std::string& run_id,
                      const std::string& conversation_id) {
    if (!conversation_of_run.emplace(run_id, conversation_id).second)
      return;
    if (auto forgotten = routed.push(run_id))
      conversation_of_run.erase(*forgotten);
  }
  /// The runs each user has queued or running (max_runs_per_user).
  std::unordered_map<std::string, std::unordered_set<std::string>> in_flight;
  /// Requests about conversations whose claim the store has not answered
  /// yet, in arrival order: called with null once the owner is known, or
  /// with the store's error.
  std::unordered_map<std::string,
                     std::vector<std::function<void(const caf::error*)>>>
    awaiting_claim;

  static inline const char* name = "chat_registry";
};

using registry_ptr = chat_registry_actor::stateful_pointer<chat_registry_state>;

caf::error no_conversation(const std::string& id) {
  return make_error(error_code::not_found, "no conversation " + id);
}

caf::error no_run(const std::string& id) {
  return make_error(error_code::not_found, "run " + id);
}

chat_session_actor session_of(registry_ptr self,
                              const std::string& conversation_id,
                              const std::string& agent_name) {
  auto& st = self->state;
  auto& session = st.sessions[conversation_id];
  if (!session) {
    // Only called once the owner is known.
    session = spawn_chat_session(
      self, conversation_id, st.owner_of_conversation.at(conversation_id),
      agent_name.empty() ? st.deps.options.default_agent : agent_name, st.deps);
    // Sessions live and die with their registry.
    self->link_to(session);
  }
  return session;
}

/// Runs `go(rp, session)` once the conversation is known to be `owner`'s
/// (claiming it for them if nobody has); another user's conversation
/// answers not_found, as one that does not exist.
template<class Reply, class Go>
void with_conversation(registry_ptr self, caf::typed_response_promise<Reply> rp,
                       const std::string& owner,
                       const std::string& conversation_id,
                       const std::string& agent_name, Go go,
                       caf::error refusal = {}) {
  auto& st = self->state;
  if (auto i = st.owner_of_conversation.find(conversation_id);
      i != st.owner_of_conversation.end()) {
    if (i->second != owner)
      rp.deliver(refusal ? refusal : no_conversation(conversation_id));
    else
      go(rp, session_of(self, conversation_id, agent_name));
    return;
  }
  // Requests wait for the claim in order, so a cancel sent right after its
  // chat still reaches the session after the run it cancels.
  auto& waiting = st.awaiting_claim[conversation_id];
  waiting.emplace_back([self, rp, owner, conversation_id, agent_name, go,
                        refusal](const caf::error* err) mutable {
    if (err)
      rp.deliver(*err);
    else
      with_conversation(self, rp, owner, conversation_id, agent_name,
                        std::move(go), std::move(refusal));
  });
  if (waiting.size() > 1)
    return;
  auto release = [self, conversation_id](const caf::error* err) {
    auto& st = self->state;
    auto waiting = std::move(st.awaiting_claim[conversation_id]);
    st.awaiting_claim.erase(conversation_id);
    for (auto& next : waiting)
      next(err);
  };
  self
    ->request(st.deps.store, st.deps.options.store_timeout, res_put_atom::value,
              claim_of(conversation_id, owner), put_mode::ensure,
              std::vector<reference>{})
    .then(
      [self, conversation_id, release](const resource_doc& claim) {
        self->state.owner_of_conversation.emplace(conversation_id,
                                                  owner_in(claim));
        release(nullptr);
      },
      [release](const caf::error& err) { release(&err); });
}

template<class Reply, class Go>
caf::result<Reply> in_conversation(registry_ptr self, const std::string& owner,
                                   const std::string& conversation_id,
                                   const std::string& agent_name, Go go,
                                   caf::error refusal = {}) {
  auto rp = self->make_response_promise<Reply>();
  with_conversation(self, rp, owner, conversation_id, agent_name, std::move(go),
                    std::move(refusal));
  return rp;
}

/// Routes a request about one run of `owner` to the session of its
/// conversation. Runs this registry never saw are looked up in the store
/// first; another user's run answers not_found.
template<class Reply, class... Ts>
caf::result<Reply> route_by_run(registry_ptr self, const std::string& owner,
                                const std::string& run_id, Ts... xs) {
  auto& st = self->state;
  if (auto i = st.conversation_of_run.find(run_id);
      i != st.conversation_of_run.end()) {
    // A run just started may still wait for its conversation's claim: go
    // through the same queue.
    return in_conversation<Reply>(
      self, owner, i->second, {},
      [xs...](caf::typed_response_promise<Reply>& rp,
              const chat_session_actor& session) mutable {
        rp.delegate(session, xs...);
      },
      no_run(run_id));
  }
  auto rp = self->make_response_promise<Reply>();
  self
    ->request(st.deps.store, st.deps.options.store_timeout, run_get_atom::value,
              run_id)
    .then(
      [self, rp, owner, run_id, xs...](run_record& rec) mutable {
        if (rec.owner != owner) {
          rp.deliver(no_run(run_id));
          return;
        }
        auto& st = self->state;
        st.remember_route(run_id, rec.conversation_id);
        st.owner_of_conversation.emplace(rec.conversation_id, rec.owner);
        rp.delegate(session_of(self, rec.conversation_id, rec.agent_name),
                    xs...);
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

/// Hands a new run to its conversation's session.
void start(registry_ptr self, caf::typed_response_promise<run_ticket> rp,
           run_request req, subscriber_actor sub) {
  auto owner = req.owner;
  auto conversation_id = req.conversation_id;
  auto agent_name = req.agent_name;
  // Known at once, so a cancel by run id that follows finds it.
  self->state.remember_route(req.run_id, conversation_id);
  // A repeat naming another user's run must not learn its conversation.
  auto refusal = req.reuse_existing ? no_run(req.run_id) : caf::error{};
  with_conversation(
    self, rp, owner, conversation_id, agent_name,
    [self, req = std::move(req),
     sub = std::move(sub)](caf::typed_response_promise<run_ticket>& rp,
                           const chat_session_actor& session) mutable {
      self->request(session, caf::infinite, run_atom::value, req, sub)
        .then(
          [self, rp, owner = req.owner, session](run_ticket& ticket) mutable {
            ticket.session = caf::actor_cast<caf::actor>(session);
            // The session tells us (run_fin) when it ends.
            if (ticket.created && !is_final(ticket.record.status))
              self->state.in_flight[owner].insert(ticket.record.id);
            rp.deliver(std::move(ticket));
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
    },
    std::move(refusal));
}

/// A run whose id the client chose: the run it already started, if any
/// (also one this node only knows from the store), else a new one. The id
/// of another user's run answers not_found.
caf::result<run_ticket> start_once(registry_ptr self, run_request& req,
                                   subscriber_actor& sub) {
  auto& st = self->state;
  if (auto i = st.conversation_of_run.find(req.run_id);
      i != st.conversation_of_run.end()) {
    // Its session answers with the existing run (reuse_existing).
    req.conversation_id = i->second;
    auto rp = self->make_response_promise<run_ticket>();
    start(self, rp, std::move(req), std::move(sub));
    return rp;
  }
  auto rp = self->make_response_promise<run_ticket>();
  self
    ->request(st.deps.store, st.deps.options.store_timeout, run_get_atom::value,
              req.run_id)
    .then(
      [rp, owner = req.owner](run_record& rec) mutable {
        if (rec.owner != owner)
          rp.deliver(no_run(rec.id));
        else
          rp.deliver(run_ticket{std::move(rec), false, {}});
      },
      [self, rp, req, sub](caf::error& err) mutable {
        if (to_error_code(err) != error_code::not_found) {
          rp.deliver(std::move(err));
          return;
        }
        // Another request with this id may have started it meanwhile.
        auto& st = self->state;
        if (auto i = st.conversation_of_run.find(req.run_id);
            i != st.conversation_of_run.end())
          req.conversation_id = i->second;
        start(self, rp, std::move(req), std::move(sub));
      });
  return rp;
}

/// `req` with its persona checked: sent back to the registry, it starts.
run_request admitted(run_request req) {
  req.persona_checked = true;
  return req;
}

/// Why `owner` may not start another run now, if they may not.
caf::error over_limits(registry_ptr self, const std::string& owner) {
  auto& opts = self->state.deps.options;
  if (opts.max_runs_per_user > 0) {
    auto i = self->state.in_flight.find(owner);
    if (i != self->state.in_flight.end()
        && i->second.size() >= opts.max_runs_per_user)
      return make_error(error_code::too_many_runs,
                        "at most " + std::to_string(opts.max_runs_per_user)
                          + " runs may be queued or running at once; cancel "
                            "one or wait for one to end");
  }
  if (opts.chat_messages) {
    auto wait = opts.chat_messages->take(owner);
    if (wait.count() > 0) {
      auto seconds = rate_limiter::seconds_of(wait);
      return make_retry_error(error_code::rate_limited,
                              "too many chat messages; retry in "
                                + std::to_string(seconds) + " s",
                              seconds);
    }
  }
  return {};
}

caf::result<run_ticket> admit(registry_ptr self, run_request& req,
                              subscriber_actor& sub) {
  if (req.reuse_existing)
    return start_once(self, req, sub);
  auto rp = self->make_response_promise<run_ticket>();
  start(self, rp, std::move(req), std::move(sub));
  return rp;
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
      if (!req.persona_checked)
        if (auto err = over_limits(self, req.owner))
          return err;
      if (req.persona_id.empty() || req.persona_checked)
        return admit(self, req, sub);
      // The persona (the caller's own) must exist before anything of the run
      // does.
      auto rp = self->make_response_promise<run_ticket>();
      self
        ->request(st.deps.store, st.deps.options.store_timeout,
                  res_get_atom::value, scoped_kind("personas", req.owner),
                  req.persona_id)
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
    [self](cancel_atom, const std::string& owner, const std::string& run_id,
           bool keep_partial_answer) {
      return route_by_run<run_record>(self, owner, run_id, cancel_atom::value,
                                      run_id, keep_partial_answer);
    },
    [self](ev_get_atom, const std::string& owner, const std::string& run_id,
           uint64_t after, uint32_t limit) {
      return route_by_run<std::vector<event_frame>>(
        self, owner, run_id, ev_get_atom::value, run_id, after, limit);
    },
    [self](forget_atom, const std::string& owner,
           const std::string& conversation_id) {
      return in_conversation<caf::ok_atom>(
        self, owner, conversation_id, {},
        [](caf::typed_response_promise<caf::ok_atom>& rp,
           const chat_session_actor& session) {
          rp.delegate(session, forget_atom::value);
        });
    },
    [self](run_fin_atom, const std::string& owner, const std::string& run_id) {
      auto& st = self->state;
      if (auto i = st.in_flight.find(owner); i != st.in_flight.end()) {
        i->second.erase(run_id);
        if (i->second.empty())
          st.in_flight.erase(i);
      }
    },
    [self](status_atom, const std::string& owner, const std::string& run_id) {
      return route_by_run<run_record>(self, owner, run_id, status_atom::value,
                                      run_id);
    },
    [self](subscribe_atom, subscriber_actor& sub, const std::string& owner,
           const std::string& conversation_id, const std::string& run_id,
           uint64_t last_seq) -> caf::result<std::vector<event_frame>> {
      if (!run_id.empty())
        return route_by_run<std::vector<event_frame>>(
          self, owner, run_id, subscribe_atom::value, sub, run_id, last_seq);
      return in_conversation<std::vector<event_frame>>(
        self, owner, conversation_id, {},
        [sub,
         last_seq](caf::typed_response_promise<std::vector<event_frame>>& rp,
                   const chat_session_actor& session) mutable {
          rp.delegate(session, subscribe_atom::value, std::move(sub),
                      std::string{}, last_seq);
        });
    },
  };
}

} // namespace

chat_registry_actor spawn_chat_registry(caf::actor_system& sys,
                                        chat_session_deps deps) {
  return sys.spawn(chat_registry, std::move(deps));
}

} // namespace parley
