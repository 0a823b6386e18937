// The one place where Parley's actors are declared: atoms, typed interfaces
// and the error category. Every sender is checked against these by the
// compiler. Who talks to whom:
//
//   Beast socket --frames--> ws_session --chat/cancel/subscribe-->
//   chat_registry
//                                ^                                      |
//                                | event_frame                 forwards to one
//                                |                                      v
//   connection_registry      subscribers <--event_frame-- chat_session (per
//   (/connections,                                         conversation)
//    /broadcast)                                run_event ^     | spawns
//                                                         |     v
//                                                       agent_run (per message)
//   store (memory | redis) <-- records and event logs -- chat_session
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "protocol/error_code.hpp"
#include "protocol/events.hpp"
#include "protocol/frames.hpp"
#include "protocol/records.hpp"

namespace parley {

// -- atoms (at most 10 characters each) ---------------------------------------

using run_atom = caf::atom_constant<caf::atom("run")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using step_atom = caf::atom_constant<caf::atom("step")>;
using heartbeat_atom = caf::atom_constant<caf::atom("heartbeat")>;
using pong_atom = caf::atom_constant<caf::atom("pong")>;
using closed_atom = caf::atom_constant<caf::atom("closed")>;
using join_atom = caf::atom_constant<caf::atom("join")>;
using list_atom = caf::atom_constant<caf::atom("list")>;
using broadcast_atom = caf::atom_constant<caf::atom("broadcast")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using conv_put_atom = caf::atom_constant<caf::atom("conv_put")>;
using conv_get_atom = caf::atom_constant<caf::atom("conv_get")>;
using msg_add_atom = caf::atom_constant<caf::atom("msg_add")>;
using msg_list_atom = caf::atom_constant<caf::atom("msg_list")>;
using run_put_atom = caf::atom_constant<caf::atom("run_put")>;
using run_get_atom = caf::atom_constant<caf::atom("run_get")>;
using ev_add_atom = caf::atom_constant<caf::atom("ev_add")>;
using ev_get_atom = caf::atom_constant<caf::atom("ev_get")>;
using run_fin_atom = caf::atom_constant<caf::atom("run_fin")>;

// -- errors
// --------------------------------------------------------------------

/// Errors that cross actor boundaries carry our error_code in this category.
constexpr caf::atom_value error_category = caf::atom("parley");

caf::error make_error(error_code code, std::string context = {});

/// The error_code inside `err`, or internal for errors of other categories
/// (timeouts, dead actors), with storage_unavailable for request timeouts.
error_code to_error_code(const caf::error& err);

// -- interfaces
// -----------------------------------------------------------------

/// Anything that receives a run's encoded events: WebSocket sessions, SSE
/// streams, REST waiters.
using subscriber_actor = caf::typed_actor<caf::reacts_to<event_frame>>;

/// One per connection; its two doors are frames from the socket and messages
/// from other actors (the cowboy handler shape).
using ws_session_actor = subscriber_actor::extend<
  caf::reacts_to<chat_request>, caf::reacts_to<ping_request>,
  caf::reacts_to<cancel_request>, caf::reacts_to<interrupt_request>,
  caf::reacts_to<subscribe_request>, caf::reacts_to<decode_error>,
  caf::reacts_to<pong_atom>, caf::reacts_to<closed_atom>,
  caf::reacts_to<heartbeat_atom>, caf::reacts_to<broadcast_atom, std::string>>;

/// How a new run treats one already in flight on its conversation.
enum class multitask_strategy : uint8_t {
  interrupt,
  reject,
  enqueue,
  rollback
};

/// Everything a chat session needs to start one run.
struct run_request {
  std::string run_id;
  std::string conversation_id;
  std::string agent_name;
  std::string message;
  bool enable_reasoning = true;
  multitask_strategy strategy = multitask_strategy::interrupt;
};

template<class Inspector>
auto inspect(Inspector& f, run_request& x) {
  return f(x.run_id, x.conversation_id, x.agent_name, x.message,
           x.enable_reasoning, x.strategy);
}

/// One per user message: plays the agent's steps, one per step tick.
using agent_run_actor
  = caf::typed_actor<caf::reacts_to<step_atom>, caf::reacts_to<cancel_atom>>;

/// One per conversation: owns its history, its run in flight and the fan-out.
using chat_session_actor = caf::typed_actor<
  // Starts a run; `subscriber` receives its events. Replies with the record.
  caf::replies_to<run_atom, run_request, subscriber_actor>::with<run_record>,
  // Cancels a run of this conversation; replies with its final status.
  caf::replies_to<cancel_atom, std::string>::with<run_record>,
  // Follows the conversation (empty run id) or one run; replies with the
  // frames after `last_seq` that the subscriber missed.
  caf::replies_to<subscribe_atom, subscriber_actor, std::string,
                  uint64_t>::with<std::vector<event_frame>>,
  caf::replies_to<status_atom, std::string>::with<run_record>,
  // From its agent runs.
  caf::reacts_to<run_event>, caf::reacts_to<flush_atom>>;

/// Finds or makes the chat session of a conversation and routes to it.
using chat_registry_actor = caf::typed_actor<
  caf::replies_to<run_atom, run_request, subscriber_actor>::with<run_record>,
  caf::replies_to<cancel_atom, std::string>::with<run_record>,
  caf::replies_to<subscribe_atom, subscriber_actor, std::string, std::string,
                  uint64_t>::with<std::vector<event_frame>>,
  caf::replies_to<status_atom, std::string>::with<run_record>>;

/// Knows every live WebSocket session, for /connections and /broadcast.
using connection_registry_actor = caf::typed_actor<
  caf::reacts_to<join_atom, std::string, ws_session_actor>,
  caf::replies_to<list_atom>::with<std::vector<std::string>>,
  caf::replies_to<broadcast_atom, std::string>::with<uint64_t>>;

/// Durable state behind one interface; memory and Redis implement it alike.
using store_actor = caf::typed_actor<
  caf::replies_to<conv_put_atom, conversation_record>::with<caf::ok_atom>,
  caf::replies_to<conv_get_atom, std::string>::with<conversation_record>,
  caf::replies_to<msg_add_atom, message_record>::with<caf::ok_atom>,
  caf::replies_to<msg_list_atom,
                  std::string>::with<std::vector<message_record>>,
  caf::replies_to<run_put_atom, run_record>::with<caf::ok_atom>,
  caf::replies_to<run_get_atom, std::string>::with<run_record>,
  caf::replies_to<ev_add_atom, std::string,
                  std::vector<event_frame>>::with<caf::ok_atom>,
  caf::replies_to<ev_get_atom, std::string, uint64_t,
                  uint32_t>::with<std::vector<event_frame>>,
  // Ends a run in one step: its last events, its final record and the
  // messages it leaves (the assistant's answer), all or nothing. The chat
  // session sends the terminal frame only after this is acknowledged.
  caf::replies_to<run_fin_atom, run_record, std::vector<event_frame>,
                  std::vector<message_record>>::with<caf::ok_atom>>;

} // namespace parley
