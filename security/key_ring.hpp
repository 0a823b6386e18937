// The API keys a node accepts, as a snapshot the I/O threads read without
// locking: the keys actor (actors/keys.cpp) reloads it from the store every
// refresh interval and after each change it makes itself. A key revoked on
// another node stops working here within one interval.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "protocol/owner.hpp"

namespace parley {

struct key_entry {
  std::string user;
  bool admin = false;
  std::string secret_hash;
};

/// Key id -> entry.
using key_map = std::unordered_map<std::string, key_entry>;

class key_ring {
 public:
  key_ring() : keys_(std::make_shared<const key_map>()) {}

  /// Who `text` (an API key) belongs to, if it is a current key.
  std::optional<principal> authenticate(std::string_view text) const;

  void replace(key_map keys);

  size_t size() const;

 private:
  std::shared_ptr<const key_map> snapshot() const;

  std::shared_ptr<const key_map> keys_;
};

using key_ring_ptr = std::shared_ptr<key_ring>;

} // namespace parley
