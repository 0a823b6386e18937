// Reading the small JSON bodies of REST requests. Only this file (and the
// protocol codec) sees RapidJSON; callers get a string or an error value.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "protocol/frames.hpp"

namespace parley {

/// The string member `field` of the JSON object `body`, or why there is
/// none: bad_json when `body` is not a JSON object (or nests deeper than
/// max_json_depth), invalid_field when `field` is missing or not a string.
std::variant<std::string, decode_error> string_member(std::string_view body,
                                                      const char* field);

} // namespace parley
