#include "actors/agent_run.hpp"

#include <algorithm>
#include <vector>

#include <caf/all.hpp>

#include "actors/agents/researcher.hpp"
#include "protocol/ids.hpp"

namespace parley {

namespace {

/// At most this many events go in one message: a long unpaced plan still
/// yields to its mailbox (a cancel) between batches.
constexpr size_t max_batch = 32;

struct agent_run_state {
  chat_session_actor parent;
  std::string run_id;
  std::vector<run_event> plan;
  size_t next = 0;
  std::chrono::milliseconds interval{0};

  static inline const char* name = "agent_run";
};

std::vector<run_event> make_plan(const run_request& req) {
  if (req.agent_name == "researcher")
    return plan_researcher(
      agent_input{req.message, req.enable_reasoning, unix_time_ms()});
  run_event err;
  err.kind = event_kind::error;
  err.error_code = "not_found";
  err.message
    = "unknown agent '" + req.agent_name + "'; the agents here are: researcher";
  return {std::move(err)};
}

agent_run_actor::behavior_type
agent_run(agent_run_actor::stateful_pointer<agent_run_state> self,
          chat_session_actor parent, run_request req,
          std::chrono::milliseconds interval) {
  auto& st = self->state;
  st.parent = std::move(parent);
  st.run_id = req.run_id;
  st.plan = make_plan(req);
  st.interval = interval;
  self->send(self, step_atom::value);
  return {
    [self](step_atom) {
      auto& st = self->state;
      // Paced, a tick plays one event; unpaced, everything the plan has
      // left is ready now and goes in one message (see max_batch).
      auto count = st.interval.count() == 0
                     ? std::min(max_batch, st.plan.size() - st.next)
                     : size_t{1};
      std::vector<run_event> batch;
      batch.reserve(count);
      // An event is made when it is played, not when it was planned: its
      // time_us is what clients measure delivery latency against.
      auto now = unix_time_us();
      for (size_t i = 0; i < count; ++i) {
        batch.push_back(std::move(st.plan[st.next++]));
        batch.back().chat_session_id = st.run_id;
        batch.back().time_us = now;
      }
      self->send(st.parent, std::move(batch));
      if (st.next == st.plan.size()) {
        self->quit();
        return;
      }
      if (st.interval.count() == 0)
        self->send(self, step_atom::value);
      else
        self->delayed_send(self, st.interval, step_atom::value);
    },
    [self](cancel_atom) { self->quit(); },
  };
}

} // namespace

agent_run_actor spawn_agent_run(caf::local_actor* spawner,
                                chat_session_actor parent,
                                const run_request& req,
                                std::chrono::milliseconds token_interval) {
  return spawner->spawn(agent_run, std::move(parent), req, token_interval);
}

} // namespace parley
