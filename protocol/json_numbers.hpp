// Internal to protocol/*.cpp (it includes RapidJSON). RapidJSON reads a
// number too large for a double (10e308) as infinity without complaint,
// and its writer then stops in the middle of the document: the text it
// leaves is not JSON. Every body and frame is checked with this before any
// part of it is written back out.
#pragma once

#include <cmath>

#include <rapidjson/document.h>

namespace parley {

/// True when no number in `value` is infinite or NaN. Recursion is bounded:
/// callers pass documents that passed exceeds_depth.
inline bool all_numbers_finite(const rapidjson::Value& value) {
  if (value.IsDouble())
    return std::isfinite(value.GetDouble());
  if (value.IsArray()) {
    for (auto& x : value.GetArray())
      if (!all_numbers_finite(x))
        return false;
  } else if (value.IsObject()) {
    for (auto& member : value.GetObject())
      if (!all_numbers_finite(member.value))
        return false;
  }
  return true;
}

} // namespace parley
