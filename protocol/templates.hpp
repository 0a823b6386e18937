// Prompt templates: `@module_name` includes a module's content (which may
// include further modules), `${variable}` inserts a value. Pure, so the
// rules are tested without a store; the resource actor feeds it the modules.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/frames.hpp"

namespace parley {

struct resolved_template {
  std::string text;
  /// Each module included, once, in the order first used.
  std::vector<std::string> modules_used;
};

using string_map = std::map<std::string, std::string, std::less<>>;

/// Modules nest at most this deep; deeper is refused like a cycle.
constexpr size_t max_module_depth = 32;

/// A resolved text longer than this is refused (a module included many
/// times over can grow exponentially).
constexpr size_t max_resolved_bytes = 1 << 20;

/// Module inclusions per resolution, counting repeats: beyond this the
/// template is refused (modules that include the next one twice, 30 deep,
/// would otherwise take 2^30 steps while producing no text).
constexpr size_t max_includes = 10000;

/// Resolves `text`. An unknown module or variable, a cycle of modules
/// (a -> b -> a) or an oversized result is a validation_failed error naming
/// it; `field` is "template" (or "variables" for a missing variable).
/// `@name` counts only at the start or after a character that cannot be
/// part of a word, so `ann@example.com` stays as it is.
std::variant<resolved_template, decode_error>
resolve_template(std::string_view text, const string_map& modules,
                 const string_map& variables);

/// Adds the scalar members of the JSON object `json` to `out` as text, each
/// name prefixed with `prefix` (e.g. "persona."). Nested objects and arrays
/// are a validation_failed error naming `field`, null members are skipped.
std::variant<std::monostate, decode_error> add_scalars(std::string_view json,
                                                       std::string_view prefix,
                                                       std::string_view field,
                                                       string_map& out);

} // namespace parley
