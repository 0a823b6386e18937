// Client -> server frames of the chat channel, decoded from
// `{"type": ..., "payload" | "data": {...}}`. Plain structs: no I/O, no CAF.
// The free `inspect` overloads let the actor system carry them between nodes
// without this layer knowing about it.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include "protocol/error_code.hpp"

namespace parley {

/// `chat`: a user message to an agent; starts one run.
struct chat_request {
  std::string message;
  std::string agent_name;      ///< empty: the connection's agent
  std::string conversation_id; ///< empty: the connection's conversation
  std::string client_msg_id;   ///< lets a client cancel before it knows the run
  bool enable_reasoning = true;
  bool cancel_on_disconnect = false;
};

/// `ping`: answered by `pong` echoing `timestamp`.
struct ping_request {
  std::string timestamp_json = "null"; ///< the client's value, echoed verbatim
};

/// `cancel`: stop one run; empty id means the connection's current run.
struct cancel_request {
  std::string id; ///< a chat_session_id or a client_msg_id
};

/// `interrupt`: cancel every run this connection started.
struct interrupt_request {};

/// `subscribe`: follow a conversation or one run, replaying after `last_seq`.
struct subscribe_request {
  std::string conversation_id;
  std::string chat_session_id;
  uint64_t last_seq = 0; ///< 0 replays everything
};

/// A frame that could not be decoded; becomes an `error` frame.
struct decode_error {
  error_code code = error_code::bad_json;
  std::string message;
  std::string type;  ///< the frame's `type`, when we got that far
  std::string field; ///< the offending field, when one is to blame
};

using client_frame
  = std::variant<chat_request, ping_request, cancel_request, interrupt_request,
                 subscribe_request, decode_error>;

template<class Inspector>
auto inspect(Inspector& f, chat_request& x) {
  return f(x.message, x.agent_name, x.conversation_id, x.client_msg_id,
           x.enable_reasoning, x.cancel_on_disconnect);
}

template<class Inspector>
auto inspect(Inspector& f, ping_request& x) {
  return f(x.timestamp_json);
}

template<class Inspector>
auto inspect(Inspector& f, cancel_request& x) {
  return f(x.id);
}

template<class Inspector>
auto inspect(Inspector& f, interrupt_request&) {
  return f();
}

template<class Inspector>
auto inspect(Inspector& f, subscribe_request& x) {
  return f(x.conversation_id, x.chat_session_id, x.last_seq);
}

template<class Inspector>
auto inspect(Inspector& f, decode_error& x) {
  return f(x.code, x.message, x.type, x.field);
}

} // namespace parley
