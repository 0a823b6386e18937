// Identifiers and clocks shared by every layer.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace parley {

/// A random RFC 4122 version-4 UUID in canonical lower-case form. Each actor
/// owns its generator, so nothing here is shared between threads.
std::string make_uuid(std::mt19937_64& rng);

/// True for a canonical UUID (8-4-4-4-12 hex digits).
bool is_uuid(std::string_view text) noexcept;

/// Milliseconds since the Unix epoch, from the system clock.
int64_t unix_time_ms() noexcept;

/// `ms` as ISO 8601 UTC with milliseconds, e.g. 2026-11-25T06:15:28.123Z.
std::string to_iso8601(int64_t ms);

} // namespace parley
