// Identifiers and clocks shared by every layer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace parley {

/// The generator ids are made with: xoshiro256** (32 bytes of state, where
/// an mt19937_64 holds 2.5 KiB and every conversation and connection owns
/// one). Each owner keeps its own, so nothing is shared between threads.
/// Fine for ids, not for secrets (API keys come from OpenSSL).
class id_generator {
 public:
  /// Seeded from std::random_device.
  id_generator();
  /// The same sequence for the same seed (tests).
  explicit id_generator(uint64_t seed) noexcept;

  uint64_t operator()() noexcept;

 private:
  uint64_t state_[4];
};

/// A random RFC 4122 version-4 UUID in canonical lower-case form.
std::string make_uuid(id_generator& gen);

/// True for a canonical UUID (8-4-4-4-12 hex digits).
bool is_uuid(std::string_view text) noexcept;

/// Milliseconds since the Unix epoch, from the system clock.
int64_t unix_time_ms() noexcept;

/// Microseconds since the Unix epoch, from the system clock.
int64_t unix_time_us() noexcept;

/// `ms` as ISO 8601 UTC with milliseconds, e.g. 2026-11-25T06:15:28.123Z.
std::string to_iso8601(int64_t ms);

} // namespace parley
