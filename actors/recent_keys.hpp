// The last N keys of something that would otherwise grow by one entry per
// run forever (a connection's delivered seqs, the registry's routes): a
// ring that hands back the key it forgets, so its owner can erase that key
// from its map. An empty ring allocates nothing, which matters for the many
// connections of a node that sit idle.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace parley {

class recent_keys {
 public:
  explicit recent_keys(size_t capacity) : capacity_(capacity) {}

  /// Remembers `key`; once `capacity` keys are held, returns the oldest,
  /// which is forgotten.
  std::optional<std::string> push(std::string key) {
    if (keys_.size() < capacity_) {
      keys_.push_back(std::move(key));
      return std::nullopt;
    }
    auto oldest = std::move(keys_[next_]);
    keys_[next_] = std::move(key);
    next_ = (next_ + 1) % capacity_;
    return oldest;
  }

  size_t size() const noexcept { return keys_.size(); }

 private:
  size_t capacity_;
  std::vector<std::string> keys_;
  /// The oldest key once the ring is full.
  size_t next_ = 0;
};

} // namespace parley
