// Token buckets, one per key (a user): `rate` tokens a second up to `burst`.
// Shared by the I/O threads (HTTP requests) and the WebSocket session actors
// (chat messages), so a user gets one budget whichever channel they use.
// One mutex: a take is a hash lookup and a few arithmetic operations, far
// below the cost of the request it guards.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace parley {

class rate_limiter {
 public:
  using clock = std::chrono::steady_clock;

  /// `rate` <= 0 turns the limiter off (every take succeeds).
  rate_limiter(double rate_per_second, double burst);

  /// Takes one token from `key`'s bucket; when there is none, how long
  /// until there is (the caller answers 429 with Retry-After).
  std::chrono::milliseconds take(std::string_view key,
                                 clock::time_point now = clock::now());

  bool enabled() const noexcept { return rate_ > 0; }

  /// A wait as whole seconds, rounded up (what Retry-After carries).
  static int64_t seconds_of(std::chrono::milliseconds wait) noexcept {
    return (wait.count() + 999) / 1000;
  }

 private:
  struct bucket {
    double tokens;
    clock::time_point updated;
  };

  void prune(clock::time_point now);

  double rate_;
  double burst_;
  std::mutex mutex_;
  std::unordered_map<std::string, bucket> buckets_;
};

using rate_limiter_ptr = std::shared_ptr<rate_limiter>;

} // namespace parley
