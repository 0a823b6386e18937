// The declarative schemas: what a body must look like to be stored, and how
// each refusal names its field.
#include <catch2/catch.hpp>

#include "protocol/resources.hpp"
#include "protocol/schema.hpp"

using namespace parley;

namespace {

const object_schema& persona() {
  return find_kind("personas")->schema;
}

decode_error refusal(const object_schema& schema, std::string_view body) {
  auto result = validate(schema, body);
  REQUIRE(std::holds_alternative<decode_error>(result));
  return std::get<decode_error>(result);
}

validated_object accepted(const object_schema& schema, std::string_view body) {
  auto result = validate(schema, body);
  if (auto err = std::get_if<decode_error>(&result))
    FAIL(err->message);
  return std::get<validated_object>(result);
}

} // namespace

TEST_CASE("a valid body gets its defaults and keeps schema order",
          "[protocol][schema]") {
  auto obj = accepted(persona(), R"({"is_active":false,"name":"Ada"})");
  CHECK(obj.text("name") == "Ada");
  CHECK(obj.text("mode") == "reactive");
  CHECK(obj.text("is_active") == "false");
  CHECK_FALSE(obj.has("template"));
  CHECK(obj.to_json()
        == R"({"name":"Ada","mode":"reactive","template":null,)"
           R"("description":null,"provider":null,"model":null,)"
           R"("provider_settings":null,"image_url":null,"is_active":false})");
}

TEST_CASE("each broken rule is refused naming its field",
          "[protocol][schema]") {
  auto check = [](std::string_view body, const char* field,
                  error_code code = error_code::validation_failed) {
    auto err = refusal(persona(), body);
    CHECK(err.code == code);
    CHECK(err.field == field);
  };
  check(R"({})", "name");
  check(R"({"name":""})", "name");
  check(R"({"name":null})", "name");
  check(R"({"name":7})", "name");
  check(R"({"name":"A","mode":"chatty"})", "mode");
  check(R"({"name":"A","is_active":"yes"})", "is_active");
  check(R"({"name":"A","provider_settings":[1]})", "provider_settings");
  check(R"({"name":"A","colour":"red"})", "colour");
  check(R"({"name":")" + std::string(201, 'x') + R"("})", "name");
  check(R"({"name":"A")", "", error_code::bad_json);
  check(R"([1,2])", "", error_code::bad_json);
  check(std::string(100, '[') + std::string(100, ']'), "",
        error_code::bad_json);
}

TEST_CASE("lengths count characters, not bytes", "[protocol][schema]") {
  // 200 two-byte characters are 400 bytes and still fit.
  std::string name;
  for (int i = 0; i < 200; ++i)
    name += "\xC3\xA9";
  accepted(persona(), R"({"name":")" + name + R"("})");
  auto err = refusal(persona(), R"({"name":")" + name + "\xC3\xA9\"}");
  CHECK(err.field == "name");
}

TEST_CASE("members the server sets are accepted and ignored",
          "[protocol][schema]") {
  auto obj = accepted(persona(), R"({"id":"x","name":"A","created_at":1,)"
                                 R"("updated_at":null})");
  CHECK_FALSE(obj.has("id"));
  CHECK(obj.to_json().find("created_at") == std::string::npos);
}

TEST_CASE("module names, regexes, ranges and references",
          "[protocol][schema]") {
  auto& module = find_kind("modules")->schema;
  accepted(module, R"({"name":"greet_2","trigger_pattern":"^hi( there)?$"})");
  CHECK(refusal(module, R"({"name":"Greet"})").field == "name");
  CHECK(refusal(module, R"({"name":"a b"})").field == "name");
  CHECK(refusal(module, R"({"name":"ok","trigger_pattern":"(unclosed"})").field
        == "trigger_pattern");
  auto& config = find_kind("flow-configs")->schema;
  accepted(config, R"({"name":"c","temperature":1.5,"max_tokens":10})");
  CHECK(refusal(config, R"({"name":"c","temperature":2.5})").field
        == "temperature");
  CHECK(refusal(config, R"({"name":"c","max_tokens":1.5})").field
        == "max_tokens");
  CHECK(refusal(config, R"({"name":"c","flow_template_id":"nope"})").field
        == "flow_template_id");
  auto id = "123e4567-e89b-42d3-a456-426614174000";
  auto obj = accepted(config, R"({"name":"c","flow_template_id":")"
                                + std::string{id} + "\"}");
  auto refs = references_of(config, obj);
  REQUIRE(refs.size() == 1);
  CHECK(refs[0].kind == "flow-templates");
  CHECK(refs[0].field == "flow_template_id");
  CHECK(refs[0].id == id);
}

TEST_CASE("request bodies default the REST run strategy to reject",
          "[protocol][schema]") {
  auto obj = accepted(run_agent_body(), R"({"query":"hi"})");
  CHECK(obj.text("multitask_strategy") == "reject");
  CHECK(obj.text("enable_reasoning") == "true");
  CHECK(refusal(run_agent_body(), R"({"query":""})").field == "query");
  CHECK(refusal(run_agent_body(), R"({"query":"q","id":"run-1"})").field
        == "id");
}
