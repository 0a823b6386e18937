// API keys: "pk_{id}_{secret}". The id names the key in lists, logs and
// `parleyd keys revoke`; only a SHA-256 hash of the secret is ever stored,
// so a copy of the store does not let anyone in.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace parley {

struct api_key_parts {
  std::string id;     ///< 16 hex digits
  std::string secret; ///< 64 hex digits (256 random bits)
};

/// A new key from the operating system's random source (OpenSSL RAND_bytes).
api_key_parts make_api_key();

/// The text a client sends.
std::string format_api_key(const api_key_parts& key);

/// The parts of `text`, or nothing when it is not shaped like a key.
std::optional<api_key_parts> parse_api_key(std::string_view text);

/// The lowercase hex SHA-256 of `secret`, as stored.
std::string hash_secret(std::string_view secret);

/// Compares two hashes in time that does not depend on where they differ.
bool same_hash(std::string_view a, std::string_view b) noexcept;

} // namespace parley
