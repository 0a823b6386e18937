// The keys actor: API keys live in the store as `api_keys` objects (id,
// user, admin flag, SHA-256 of the secret; never the secret itself). It
// makes and revokes them for admins and `parleyd keys`, and reloads the
// key ring (security/key_ring.hpp) the transport checks every request
// against: after each change it makes and every `refresh` (keys made or
// revoked by another node or the CLI).
//
//   admin route / parleyd keys --create/list/revoke--> keys --res_*--> store
//                                                       |
//                                                 key_ring (read by I/O)
#pragma once

#include <chrono>

#include <caf/fwd.hpp>

#include "actors/interfaces.hpp"
#include "actors/options.hpp"

#include "security/key_ring.hpp"

namespace parley {

/// `refresh` zero: no timer (the CLI, which only makes one change).
keys_actor spawn_keys(caf::actor_system& sys, store_actor store,
                      key_ring_ptr ring, std::chrono::milliseconds refresh,
                      server_options options, logger_ptr log);

} // namespace parley
