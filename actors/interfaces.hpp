// The one place where Parley's actors are declared: atoms, typed interfaces
// and the error category. Every sender is checked against these by the
// compiler. Who talks to whom:
//
//   Beast socket --frames--> ws_session --chat/cancel/subscribe-->
//   chat_registry
//                                ^                                      |
//                                | frame_batch                 forwards to one
//                                |                                      v
//   connection_registry      subscribers <--frame_batch-- chat_session (per
//   (/connections,                                         conversation)
//    /broadcast)                           run_events (batch) ^     | spawns
//                                                             |     v
//                                                       agent_run (per message)
//   store (memory | redis) <-- run_open, ev_add, run_fin -- chat_session
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "protocol/error_code.hpp"
#include "protocol/events.hpp"
#include "protocol/frames.hpp"
#include "protocol/records.hpp"
#include "protocol/resources.hpp"

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
using res_put_atom = caf::atom_constant<caf::atom("res_put")>;
using res_get_atom = caf::atom_constant<caf::atom("res_get")>;
using res_list_atom = caf::atom_constant<caf::atom("res_list")>;
using res_del_atom = caf::atom_constant<caf::atom("res_del")>;
using create_atom = caf::atom_constant<caf::atom("create")>;
using update_atom = caf::atom_constant<caf::atom("update")>;
using resolve_atom = caf::atom_constant<caf::atom("resolve")>;
using forget_atom = caf::atom_constant<caf::atom("forget")>;
using ev_drop_atom = caf::atom_constant<caf::atom("ev_drop")>;
using health_atom = caf::atom_constant<caf::atom("health")>;
using run_live_atom = caf::atom_constant<caf::atom("run_live")>;
using run_put_atom = caf::atom_constant<caf::atom("run_put")>;
using run_get_atom = caf::atom_constant<caf::atom("run_get")>;
using ev_add_atom = caf::atom_constant<caf::atom("ev_add")>;
using ev_get_atom = caf::atom_constant<caf::atom("ev_get")>;
using run_fin_atom = caf::atom_constant<caf::atom("run_fin")>;
using run_open_atom = caf::atom_constant<caf::atom("run_open")>;

// -- errors
// --------------------------------------------------------------------

/// Errors that cross actor boundaries carry our error_code in this category.
constexpr caf::atom_value error_category = caf::atom("parley");

caf::error make_error(error_code code, std::string context = {});

/// The code of our category as CAF carries it (CAF reserves 0 for "no
/// error"), and back.
uint8_t to_caf_code(error_code code);
error_code from_caf_code(uint8_t code);

/// An error whose message blames one field of the request.
caf::error make_error(error_code code, std::string message, std::string field);

/// The message of one of our errors (without the code), or CAF's rendering
/// of any other error.
std::string error_message(const caf::error& err);

/// The field an error blames, if any.
std::string error_field(const caf::error& err);

/// An error that says when to try again (rate limits): HTTP answers carry
/// it as Retry-After.
caf::error make_retry_error(error_code code, std::string message,
                            int64_t retry_after_s);

/// The seconds make_retry_error gave, or 0.
int64_t retry_after_of(const caf::error& err);

/// The error_code inside `err`, or internal for errors of other categories
/// (timeouts, dead actors), with storage_unavailable for request timeouts.
error_code to_error_code(const caf::error& err);

// -- interfaces
// -----------------------------------------------------------------

/// Consecutive frames of one run, in seq order, sent as one message. An agent
/// that has several events ready at once (a token interval of 0, a model
/// that returned many tokens in one read) costs each subscriber one mailbox
/// hop and its socket one write request, not one of each per frame.
struct frame_batch {
  std::vector<event_frame> frames;
};

template<class Inspector>
auto inspect(Inspector& f, frame_batch& x) {
  return f(x.frames);
}

/// Anything that receives a run's encoded events: WebSocket sessions, SSE
/// streams, REST waiters.
using subscriber_actor = caf::typed_actor<caf::reacts_to<frame_batch>>;

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
  /// The client chose run_id: asking again returns the run it already
  /// started instead of a second one (idempotent REST calls).
  bool reuse_existing = false;
  /// A persona the run speaks as; it must exist.
  std::string persona_id;
  /// Set by the chat registry once it found the persona.
  bool persona_checked = false;
  /// The user asking (protocol/owner.hpp); the conversation must be theirs.
  std::string owner;
};

template<class Inspector>
auto inspect(Inspector& f, run_request& x) {
  return f(x.run_id, x.conversation_id, x.agent_name, x.message,
           x.enable_reasoning, x.strategy, x.reuse_existing, x.persona_id,
           x.persona_checked, x.owner);
}

/// The answer to a run request: the run's record, and whether this request
/// started it (false: an idempotent repeat found it).
struct run_ticket {
  run_record record;
  bool created = true;
  /// The chat session that runs it (a chat_session_actor; null when the
  /// run was only found in the store): whoever started the run may send
  /// it `cancel` there directly instead of through the registry.
  caf::actor session;
};

template<class Inspector>
auto inspect(Inspector& f, run_ticket& x) {
  return f(x.record, x.created, x.session);
}

/// One per user message: plays the agent's steps, one per step tick.
using agent_run_actor
  = caf::typed_actor<caf::reacts_to<step_atom>, caf::reacts_to<cancel_atom>>;

/// One per conversation: owns its history, its run in flight and the fan-out.
using chat_session_actor = caf::typed_actor<
  // Starts a run; `subscriber` receives its events. Replies with the record.
  caf::replies_to<run_atom, run_request, subscriber_actor>::with<run_ticket>,
  // Cancels a run of this conversation, keeping its partial answer or not
  // (rollback); replies with its final status.
  caf::replies_to<cancel_atom, std::string, bool>::with<run_record>,
  // Follows the conversation (empty run id) or one run; replies with the
  // frames after `last_seq` that the subscriber missed.
  caf::replies_to<subscribe_atom, subscriber_actor, std::string,
                  uint64_t>::with<std::vector<event_frame>>,
  caf::replies_to<status_atom, std::string>::with<run_record>,
  // A run's frames after seq `after`, at most `limit`, without following.
  caf::replies_to<ev_get_atom, std::string, uint64_t,
                  uint32_t>::with<std::vector<event_frame>>,
  // Drops the event logs of the conversation's finished runs (its memories).
  caf::replies_to<forget_atom>::with<caf::ok_atom>,
  // From its agent runs: the events a run has ready, in order.
  caf::reacts_to<std::vector<run_event>>, caf::reacts_to<flush_atom>>;

/// Finds or makes the chat session of a conversation and routes to it. The
/// first string of each request is the user asking: a conversation or run
/// of another user answers not_found, exactly like one that does not exist.
using chat_registry_actor = caf::typed_actor<
  caf::replies_to<run_atom, run_request, subscriber_actor>::with<run_ticket>,
  // owner, run id, keep the partial answer
  caf::replies_to<cancel_atom, std::string, std::string,
                  bool>::with<run_record>,
  // owner, conversation id, run id, last seq
  caf::replies_to<subscribe_atom, subscriber_actor, std::string, std::string,
                  std::string, uint64_t>::with<std::vector<event_frame>>,
  caf::replies_to<status_atom, std::string, std::string>::with<run_record>,
  caf::replies_to<ev_get_atom, std::string, std::string, uint64_t,
                  uint32_t>::with<std::vector<event_frame>>,
  // owner, conversation id
  caf::replies_to<forget_atom, std::string, std::string>::with<caf::ok_atom>,
  // From its chat sessions: a run of `owner` ended (or is ending) and no
  // longer counts against their limit of runs in flight.
  caf::reacts_to<run_fin_atom, std::string, std::string>>;

/// The CRUD resources: validates bodies against their kind's schema, makes
/// ids and timestamps, resolves templates; the store keeps the objects. The
/// first string of each request is the user asking: each user reaches only
/// their own objects (protocol/owner.hpp).
using resources_actor = caf::typed_actor<
  // owner, kind, JSON body
  caf::replies_to<create_atom, std::string, std::string,
                  std::string>::with<resource_doc>,
  // owner, kind, id, JSON body (a full replacement)
  caf::replies_to<update_atom, std::string, std::string, std::string,
                  std::string>::with<resource_doc>,
  caf::replies_to<res_get_atom, std::string, std::string,
                  std::string>::with<resource_doc>,
  caf::replies_to<res_list_atom, std::string,
                  resource_query>::with<resource_page>,
  caf::replies_to<res_del_atom, std::string, std::string,
                  std::string>::with<caf::ok_atom>,
  // owner, JSON body {template, variables?, persona_id?}; replies with the
  // {resolved, modules_used} JSON.
  caf::replies_to<resolve_atom, std::string, std::string>::with<std::string>>;

/// One per SSE response: follows one run and writes its frames as
/// Server-Sent Events; `closed` when the client went away, `heartbeat` for
/// its keep-alive comments.
using sse_stream_actor
  = subscriber_actor::extend<caf::reacts_to<closed_atom>,
                             caf::reacts_to<heartbeat_atom>>;

/// One per waiting REST call (POST /api/chat/send): starts a run, collects
/// its frames and replies with all of them once the run ended.
using run_waiter_actor = caf::typed_actor<
  caf::replies_to<run_atom, run_request>::with<std::vector<event_frame>>,
  caf::reacts_to<frame_batch>>;

/// An API key as admins see it; `key` (the secret) only once, when made.
struct api_key_info {
  std::string id;
  std::string user;
  bool admin = false;
  int64_t created_at_ms = 0;
  std::string key;
};

template<class Inspector>
auto inspect(Inspector& f, api_key_info& x) {
  return f(x.id, x.user, x.admin, x.created_at_ms, x.key);
}

/// Makes, lists and revokes API keys (stored as hashes), and keeps the key
/// ring the transport checks keys against in step with the store.
using keys_actor = caf::typed_actor<
  // user, admin
  caf::replies_to<create_atom, std::string, bool>::with<api_key_info>,
  caf::replies_to<list_atom>::with<std::vector<api_key_info>>,
  // key id
  caf::replies_to<res_del_atom, std::string>::with<caf::ok_atom>,
  // Answers once the first load from the store is over (done or failed):
  // a node asks before it serves, so a valid key is never refused just
  // because the node has only started.
  caf::replies_to<health_atom>::with<caf::ok_atom>,
  // Reloads the ring from the store (a timer sends it).
  caf::reacts_to<flush_atom>>;

/// Knows every live WebSocket session, for /connections and /broadcast.
using connection_registry_actor = caf::typed_actor<
  caf::reacts_to<join_atom, std::string, ws_session_actor>,
  caf::replies_to<list_atom>::with<std::vector<std::string>>,
  caf::replies_to<broadcast_atom, std::string>::with<uint64_t>>;

/// Durable state behind one interface; memory and Redis implement it alike.
using store_actor = caf::typed_actor<
  // Writes one object after checking, in the same step, that its unique
  // fields are free (conflict) and its references exist (validation_failed).
  caf::replies_to<res_put_atom, resource_doc, put_mode,
                  std::vector<reference>>::with<resource_doc>,
  caf::replies_to<res_get_atom, std::string, std::string>::with<resource_doc>,
  caf::replies_to<res_list_atom, resource_query>::with<resource_page>,
  // Deletes one object and its dependants (`cascades`), all or nothing;
  // conflict while an object of a `restricts` rule still points at it.
  caf::replies_to<res_del_atom, std::string, std::string,
                  std::vector<cascade_rule>,
                  std::vector<cascade_rule>>::with<caf::ok_atom>,
  // Drops the event logs of a conversation's finished runs; replies with
  // how many runs lost theirs.
  caf::replies_to<ev_drop_atom, std::string>::with<uint64_t>,
  // Answers when the store can serve requests (GET /ready).
  caf::replies_to<health_atom>::with<caf::ok_atom>,
  // The runs whose record still says queued or running: at start-up these
  // are the ones the last process left behind.
  caf::replies_to<run_live_atom>::with<std::vector<run_record>>,
  caf::replies_to<run_put_atom, run_record>::with<caf::ok_atom>,
  caf::replies_to<run_get_atom, std::string>::with<run_record>,
  caf::replies_to<ev_add_atom, std::string,
                  std::vector<event_frame>>::with<caf::ok_atom>,
  caf::replies_to<ev_get_atom, std::string, uint64_t,
                  uint32_t>::with<std::vector<event_frame>>,
  // Opens a run in one step: the objects it leaves at its start (its
  // conversation and the user's question, written with put_mode::ensure;
  // one the store refuses is skipped, as in run_fin), its first events and
  // its record. The run is acknowledged to its client only after this.
  caf::replies_to<run_open_atom, run_record, std::vector<resource_doc>,
                  std::vector<event_frame>>::with<caf::ok_atom>,
  // Ends a run in one step: its last events, its final record and the
  // messages it leaves (the assistant's answer), all or nothing. The chat
  // session sends the terminal frame only after this is acknowledged.
  caf::replies_to<run_fin_atom, run_record, std::vector<event_frame>,
                  std::vector<message_record>>::with<caf::ok_atom>>;

} // namespace parley
