#include "security/key_ring.hpp"

#include <atomic>

#include "security/api_keys.hpp"

namespace parley {

std::shared_ptr<const key_map> key_ring::snapshot() const {
  return std::atomic_load(&keys_);
}

std::optional<principal> key_ring::authenticate(std::string_view text) const {
  auto parts = parse_api_key(text);
  if (!parts)
    return std::nullopt;
  auto keys = snapshot();
  auto i = keys->find(parts->id);
  // Hash even for an unknown id, so that timing does not tell ids apart.
  auto hash = hash_secret(parts->secret);
  if (i == keys->end() || !same_hash(hash, i->second.secret_hash))
    return std::nullopt;
  return principal{i->second.user, i->second.admin};
}

void key_ring::replace(key_map keys) {
  std::atomic_store(&keys_,
                    std::shared_ptr<const key_map>(
                      std::make_shared<const key_map>(std::move(keys))));
}

size_t key_ring::size() const {
  return snapshot()->size();
}

} // namespace parley
