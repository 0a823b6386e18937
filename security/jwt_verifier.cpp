#include "security/jwt_verifier.hpp"

#include <cerrno>
#include <ctime>
#include <jwt.h>
#include <memory>
#include <stdexcept>

#include <rapidjson/document.h>

namespace parley {

namespace {

struct jwt_deleter {
  void operator()(jwt_t* p) const noexcept { jwt_free(p); }
};

using jwt_ptr = std::unique_ptr<jwt_t, jwt_deleter>;

/// `aud` may be one string or an array of them.
bool names_audience(jwt_t* token, const std::string& audience) {
  if (auto single = jwt_get_grant(token, "aud"))
    return audience == single;
  std::unique_ptr<char, decltype(&free)> json{jwt_get_grants_json(token, "aud"),
                                              &free};
  if (!json)
    return false;
  rapidjson::Document doc;
  doc.Parse(json.get());
  if (doc.HasParseError() || !doc.IsArray())
    return false;
  for (auto& x : doc.GetArray())
    if (x.IsString() && audience == x.GetString())
      return true;
  return false;
}

/// A numeric date claim, or nothing when absent.
std::optional<long> date_claim(jwt_t* token, const char* name) {
  errno = 0;
  auto value = jwt_get_grant_int(token, name);
  if (errno == ENOENT)
    return std::nullopt;
  return value;
}

} // namespace

jwt_verifier::jwt_verifier(jwt_config cfg) : cfg_(std::move(cfg)) {
  alg_ = jwt_str_alg(cfg_.algorithm.c_str());
  if (alg_ != JWT_ALG_HS256 && alg_ != JWT_ALG_RS256 && alg_ != JWT_ALG_ES256)
    throw std::invalid_argument("JWT algorithm must be HS256, RS256 or ES256, "
                                "not "
                                + cfg_.algorithm);
  if (cfg_.key.empty())
    throw std::invalid_argument("a JWT key (secret or public key) is required");
}

std::variant<principal, std::string>
jwt_verifier::verify(std::string_view text) const {
  std::string token{text};
  jwt_t* raw = nullptr;
  auto rc = jwt_decode(&raw, token.c_str(),
                       reinterpret_cast<const unsigned char*>(cfg_.key.data()),
                       static_cast<int>(cfg_.key.size()));
  jwt_ptr decoded{raw};
  if (rc != 0 || !decoded)
    return std::string{"the token's signature or format is invalid"};
  // libjwt verifies with whatever algorithm the token names: accept only
  // ours, or an HS256 token keyed with our public key would pass.
  if (jwt_get_alg(decoded.get()) != alg_)
    return "tokens must be signed with " + cfg_.algorithm;
  auto now = static_cast<long>(std::time(nullptr));
  auto leeway = static_cast<long>(cfg_.leeway.count());
  auto exp = date_claim(decoded.get(), "exp");
  if (!exp)
    return std::string{"the token has no expiry (exp)"};
  if (*exp + leeway <= now)
    return std::string{"the token has expired"};
  if (auto nbf = date_claim(decoded.get(), "nbf"); nbf && *nbf - leeway > now)
    return std::string{"the token is not valid yet (nbf)"};
  if (!cfg_.issuer.empty()) {
    auto iss = jwt_get_grant(decoded.get(), "iss");
    if (!iss || cfg_.issuer != iss)
      return std::string{"the token's issuer is not accepted"};
  }
  if (!cfg_.audience.empty() && !names_audience(decoded.get(), cfg_.audience))
    return std::string{"the token is not meant for this server (aud)"};
  auto sub = jwt_get_grant(decoded.get(), "sub");
  if (!sub || !*sub)
    return std::string{"the token names no user (sub)"};
  errno = 0;
  bool admin = jwt_get_grant_bool(decoded.get(), "admin") == 1 && errno == 0;
  return principal{sub, admin};
}

bool looks_like_jwt(std::string_view text) noexcept {
  size_t dots = 0;
  for (char c : text) {
    if (c == '.')
      ++dots;
    else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
               || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '='))
      return false;
  }
  return dots == 2;
}

} // namespace parley
