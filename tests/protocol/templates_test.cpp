// Template resolution: modules, variables, cycles and what is left alone.
#include <catch2/catch.hpp>

#include "protocol/templates.hpp"

using namespace parley;

namespace {

resolved_template ok(std::string_view text, const string_map& modules,
                     const string_map& variables = {}) {
  auto out = resolve_template(text, modules, variables);
  if (auto err = std::get_if<decode_error>(&out))
    FAIL(err->message);
  return std::get<resolved_template>(out);
}

decode_error refused(std::string_view text, const string_map& modules,
                     const string_map& variables = {}) {
  auto out = resolve_template(text, modules, variables);
  REQUIRE(std::holds_alternative<decode_error>(out));
  return std::get<decode_error>(out);
}

} // namespace

TEST_CASE("modules are included recursively and listed once in order",
          "[protocol][templates]") {
  string_map modules{{"greet", "Hello @name_part!"},
                     {"name_part", "${user}"},
                     {"tone", "Be kind."}};
  auto out = ok("@tone @greet @tone", modules, {{"user", "Bob"}});
  CHECK(out.text == "Be kind. Hello Bob! Be kind.");
  CHECK(out.modules_used
        == std::vector<std::string>{"tone", "greet", "name_part"});
}

TEST_CASE("unknown modules and variables are named", "[protocol][templates]") {
  auto err = refused("hi @ghost", {});
  CHECK(err.code == error_code::validation_failed);
  CHECK(err.message.find("@ghost") != std::string::npos);
  CHECK(err.field == "template");
  err = refused("hi ${who}", {});
  CHECK(err.message.find("who") != std::string::npos);
  CHECK(err.field == "variables");
}

TEST_CASE("a cycle of modules is refused with its path",
          "[protocol][templates]") {
  auto err = refused("@a", {{"a", "x @b"}, {"b", "y @a"}});
  CHECK(err.message.find("@a -> @b -> @a") != std::string::npos);
  // A module used twice side by side is not a cycle.
  CHECK(ok("@b @b", {{"b", "y"}}).text == "y y");
}

TEST_CASE("text that only looks like a reference stays",
          "[protocol][templates]") {
  CHECK(ok("mail ann@example.com", {}).text == "mail ann@example.com");
  CHECK(ok("cost: $5 and ${ not a var", {}).text
        == "cost: $5 and ${ not a var");
  CHECK(ok("@ alone and @Upper", {}).text == "@ alone and @Upper");
}

TEST_CASE("exponential growth stops at the size limit",
          "[protocol][templates]") {
  string_map modules;
  for (int i = 0; i < 30; ++i)
    modules["m" + std::to_string(i)]
      = "@m" + std::to_string(i + 1) + " @m" + std::to_string(i + 1);
  // 16 KiB leaves: the size limit trips after 64 of them, long before the
  // include limit.
  modules["m30"] = std::string(16 << 10, 'x');
  auto err = refused("@m0", modules);
  CHECK(err.message.find("bytes") != std::string::npos);
}

TEST_CASE("fan-out that produces no text stops at the include limit",
          "[protocol][templates]") {
  // Each module includes the next twice; the leaf is empty, so the text
  // never grows and only the count of inclusions can stop 2^30 steps.
  string_map modules;
  for (int i = 0; i < 30; ++i)
    modules["m" + std::to_string(i)]
      = "@m" + std::to_string(i + 1) + "${e}@m" + std::to_string(i + 1);
  modules["m30"] = "";
  auto err = refused("@m0", modules, {{"e", ""}});
  CHECK(err.message.find("includes modules more than") != std::string::npos);
}

TEST_CASE("variables come from a JSON object's scalars",
          "[protocol][templates]") {
  string_map out;
  auto r = add_scalars(R"({"a":"x","n":2.5,"b":true,"z":null})", "", "v", out);
  CHECK(std::holds_alternative<std::monostate>(r));
  CHECK(out == string_map{{"a", "x"}, {"b", "true"}, {"n", "2.5"}});
  r = add_scalars(R"({"deep":{"x":1}})", "", "variables", out);
  REQUIRE(std::holds_alternative<decode_error>(r));
  CHECK(std::get<decode_error>(r).field == "variables");
  // With a prefix (a persona's fields), nested members are skipped.
  string_map persona;
  add_scalars(R"({"name":"Ada","provider_settings":{"k":1}})", "persona.", "p",
              persona);
  CHECK(persona == string_map{{"persona.name", "Ada"}});
}
