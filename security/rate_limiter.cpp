#include "security/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace parley {

namespace {

/// Buckets kept before full ones (idle users) are dropped: a full bucket is
/// the same as no bucket.
constexpr size_t prune_above = 10000;

} // namespace

rate_limiter::rate_limiter(double rate_per_second, double burst)
  : rate_(rate_per_second), burst_(std::max(burst, 1.0)) {}

std::chrono::milliseconds rate_limiter::take(std::string_view key,
                                             clock::time_point now) {
  if (rate_ <= 0)
    return std::chrono::milliseconds{0};
  std::lock_guard<std::mutex> guard{mutex_};
  auto [i, added] = buckets_.try_emplace(std::string{key}, bucket{burst_, now});
  auto& b = i->second;
  if (!added) {
    std::chrono::duration<double> elapsed = now - b.updated;
    b.tokens = std::min(burst_, b.tokens + elapsed.count() * rate_);
    b.updated = now;
  }
  if (b.tokens >= 1) {
    b.tokens -= 1;
    if (added && buckets_.size() > prune_above)
      prune(now);
    return std::chrono::milliseconds{0};
  }
  auto wait = (1 - b.tokens) / rate_;
  return std::chrono::milliseconds{
    static_cast<int64_t>(std::ceil(wait * 1000))};
}

void rate_limiter::prune(clock::time_point now) {
  for (auto i = buckets_.begin(); i != buckets_.end();) {
    std::chrono::duration<double> elapsed = now - i->second.updated;
    if (i->second.tokens + elapsed.count() * rate_ >= burst_)
      i = buckets_.erase(i);
    else
      ++i;
  }
}

} // namespace parley
