// The server's authentication settings, apart from the code that applies
// them (transport/access.hpp), so server.hpp can carry them without Beast.
#pragma once

#include <cstdint>
#include <memory>

#include "security/jwt_verifier.hpp"
#include "security/key_ring.hpp"
#include "security/rate_limiter.hpp"

namespace parley {

/// How much a route asks of its caller.
enum class route_access : uint8_t {
  user,  ///< any authenticated user (the default)
  admin, ///< an admin key or token
  open,  ///< anyone: liveness, readiness, the API document
};

/// How the server authenticates; shared by every session.
struct access_policy {
  /// False only with --auth none: every request is the local admin.
  bool required = true;
  key_ring_ptr keys = std::make_shared<key_ring>();
  /// Null: bearer JWTs are not accepted.
  std::shared_ptr<const jwt_verifier> jwt;
  /// Requests per second per user; null or disabled: no limit.
  rate_limiter_ptr requests;
};

} // namespace parley
