// libFuzzer target: prompt templates. The input is split at lines that are
// exactly `%%` into a template and then parts, each one of
//   @name=body     a module (body may include further @modules)
//   $name=value    a variable
//   {...}          a JSON object whose scalars become variables (add_scalars
//                  with no prefix, as the request's `variables` are read,
//                  and with "persona.", as a persona's fields are read)
// so seed files stay readable. resolve_template must terminate (libFuzzer's
// -timeout catches a blow-up), never crash or recurse past
// max_module_depth, keep its size bound, and report any cycle as an error.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fuzz_check.hpp"
#include "protocol/codec.hpp"
#include "protocol/templates.hpp"

using namespace parley;

namespace {

constexpr std::string_view separator = "\n%%\n";

std::vector<std::string_view> split(std::string_view text) {
  std::vector<std::string_view> parts;
  for (;;) {
    auto pos = text.find(separator);
    parts.push_back(text.substr(0, pos));
    if (pos == std::string_view::npos)
      return parts;
    text.remove_prefix(pos + separator.size());
  }
}

/// `name=rest` after the one-character sigil.
std::pair<std::string, std::string> name_value(std::string_view part) {
  part.remove_prefix(1);
  auto eq = part.find('=');
  if (eq == std::string_view::npos)
    return {std::string{part}, {}};
  return {std::string{part.substr(0, eq)}, std::string{part.substr(eq + 1)}};
}

bool is_module_name(std::string_view name) {
  if (name.empty())
    return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  return true;
}

/// The scalars of `json` as variables, with the checks add_scalars promises.
void add_json_variables(std::string_view json, string_map& variables) {
  // Callers pass only JSON that passed this guard (json_body.cpp,
  // schema.cpp); add_scalars parses recursively without it.
  if (exceeds_depth(json, max_json_depth))
    return;
  for (std::string_view prefix : {"", "persona."}) {
    string_map out;
    auto added = add_scalars(json, prefix, "variables", out);
    if (std::holds_alternative<decode_error>(added)) {
      FUZZ_CHECK(std::get<decode_error>(added).code
                 == error_code::validation_failed);
      continue;
    }
    for (auto& [name, value] : out) {
      FUZZ_CHECK(std::string_view{name}.substr(0, prefix.size()) == prefix);
      variables[name] = value;
    }
  }
}

size_t longest_value(const string_map& variables) {
  size_t n = 0;
  for (auto& kv : variables)
    n = std::max(n, kv.second.size());
  return n;
}

void check_result(std::string_view text, const string_map& modules,
                  const string_map& variables) {
  auto out = resolve_template(text, modules, variables);
  if (auto* err = std::get_if<decode_error>(&out)) {
    FUZZ_CHECK(err->code == error_code::validation_failed);
    FUZZ_CHECK(err->field == "template" || err->field == "variables");
    return;
  }
  auto& ok = std::get<resolved_template>(out);
  // The size check runs before each character, so one last variable value
  // may overshoot it.
  FUZZ_CHECK(ok.text.size()
             <= max_resolved_bytes + longest_value(variables) + 1);
  for (size_t i = 0; i < ok.modules_used.size(); ++i) {
    FUZZ_CHECK(modules.count(ok.modules_used[i]) == 1);
    for (size_t j = 0; j < i; ++j)
      FUZZ_CHECK(ok.modules_used[i] != ok.modules_used[j]);
  }
  // Nothing to resolve: the text comes back as it was.
  if (text.find('@') == std::string_view::npos
      && text.find("${") == std::string_view::npos) {
    FUZZ_CHECK(ok.text == text);
    FUZZ_CHECK(ok.modules_used.empty());
  }
}

/// A module that includes itself, directly or through another, must be
/// refused, never followed.
void check_cycles(const string_map& modules, const string_map& variables) {
  std::vector<std::string> names;
  for (auto& kv : modules)
    if (is_module_name(kv.first))
      names.push_back(kv.first);
  if (names.empty())
    return;
  auto self = modules;
  self[names[0]] = "@" + names[0] + " " + self[names[0]];
  auto out = resolve_template("@" + names[0], self, variables);
  FUZZ_CHECK(std::holds_alternative<decode_error>(out));
  if (names.size() < 2)
    return;
  auto pair = modules;
  pair[names[0]] += " @" + names[1];
  pair[names[1]] = "@" + names[0] + " " + pair[names[1]];
  out = resolve_template("x @" + names[0] + " y", pair, variables);
  FUZZ_CHECK(std::holds_alternative<decode_error>(out));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parts = split({reinterpret_cast<const char*>(data), size});
  string_map modules;
  string_map variables;
  for (size_t i = 1; i < parts.size(); ++i) {
    auto part = parts[i];
    if (part.empty())
      continue;
    if (part.front() == '@') {
      auto [name, body] = name_value(part);
      modules[name] = body;
    } else if (part.front() == '$') {
      auto [name, value] = name_value(part);
      variables[name] = value;
    } else if (part.front() == '{') {
      add_json_variables(part, variables);
    }
  }
  check_result(parts[0], modules, variables);
  check_cycles(modules, variables);
  return 0;
}
