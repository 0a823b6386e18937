// The chat registry: finds (or starts) the chat session of a conversation and
// routes run/cancel/subscribe/status to it. It remembers which conversation
// each run belongs to and falls back to the store for runs it never saw (a
// restart, another node). Chat sessions stay alive while the registry does.
#pragma once

#include <caf/fwd.hpp>

#include "actors/chat_session.hpp"

namespace parley {

chat_registry_actor spawn_chat_registry(caf::actor_system& sys,
                                        chat_session_deps deps);

} // namespace parley
