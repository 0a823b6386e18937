// Bearer tokens from an existing identity provider, checked with libjwt
// over OpenSSL: the signature with the one algorithm configured (so neither
// `alg: none` nor an HS256 token signed with our RSA public key passes),
// then `exp` (required), `nbf`, `iss` and `aud`. The user is `sub`; an
// `admin: true` claim makes an admin.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "protocol/owner.hpp"

namespace parley {

struct jwt_config {
  /// HS256 (shared secret), RS256 or ES256 (public key, PEM).
  std::string algorithm = "HS256";
  std::string key;
  std::string issuer;   ///< required `iss` when set
  std::string audience; ///< required among `aud` when set
  std::chrono::seconds leeway{30};
};

class jwt_verifier {
 public:
  /// Throws std::invalid_argument for an unknown algorithm or empty key.
  explicit jwt_verifier(jwt_config cfg);

  /// Who the token names, or why it is refused (a message for the client).
  std::variant<principal, std::string> verify(std::string_view token) const;

 private:
  jwt_config cfg_;
  int alg_;
};

/// Whether `text` is shaped like a JWT (three base64url parts).
bool looks_like_jwt(std::string_view text) noexcept;

} // namespace parley
