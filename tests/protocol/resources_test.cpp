// The resource table and the stored form of objects.
#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include "protocol/owner.hpp"
#include "protocol/resources.hpp"
#include "protocol/run_summary.hpp"

using namespace parley;

namespace {

rapidjson::Document parse(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  return doc;
}

} // namespace

TEST_CASE("nine kinds, each with a named schema and valid references",
          "[protocol][resources]") {
  auto& kinds = resource_kinds();
  CHECK(kinds.size() == 9);
  for (auto& kind : kinds) {
    CHECK_FALSE(kind.schema.name.empty());
    for (auto& f : kind.schema.fields)
      if (!f.references.empty())
        CHECK(find_kind(f.references) != nullptr);
    for (auto& filter : kind.filters)
      CHECK(kind.schema.find(filter.field)->is_indexed);
    for (auto& lookup : kind.lookups)
      CHECK(kind.schema.find(lookup.field)->is_indexed);
  }
}

TEST_CASE("a stored object carries id, fields, timestamps and its indexes",
          "[protocol][resources]") {
  auto& kind = *find_kind("modules");
  auto checked = validate(kind.schema, R"({"name":"greet","content":"hi"})");
  auto& obj = std::get<validated_object>(checked);
  auto doc = make_doc(kind, "id-1", obj, 0, 1000);
  auto json = parse(doc.json);
  CHECK(std::string{json["id"].GetString()} == "id-1");
  CHECK(std::string{json["name"].GetString()} == "greet");
  CHECK(std::string{json["created_at"].GetString()}
        == "1970-01-01T00:00:00.000Z");
  CHECK(std::string{json["updated_at"].GetString()}
        == "1970-01-01T00:00:01.000Z");
  REQUIRE(doc.unique.size() == 1);
  CHECK(doc.unique[0].field == "name");
  CHECK(doc.unique[0].value == "greet");
  bool indexed_active = false;
  for (auto& x : doc.index)
    indexed_active |= x.field == "is_active" && x.value == "true";
  CHECK(indexed_active);
}

TEST_CASE("a user's messages and conversations are stored under their scope",
          "[protocol][resources]") {
  auto msg = message_doc(
    message_record{"m1", "c1", "user", "hi", "", 0, "r1", "bob:x@y", 5});
  CHECK(msg.kind == "messages@bob%3Ax%40y");
  CHECK(plain_kind(msg.kind) == "messages");
  conversation_record conv;
  conv.id = "c1";
  conv.owner = "alice";
  CHECK(conversation_doc(conv).kind == "conversations@alice");
  CHECK(scoped_kind("personas", "") == "personas");
  CHECK(without_scope("no personas@alice 7", owner_scope("alice"))
        == "no personas 7");
}

TEST_CASE("chat messages become message resources", "[protocol][resources]") {
  auto doc = message_doc(message_record{"m1", "c1", "assistant", "4 \"quoted\"",
                                        "thought", 3, "r1", "", 5});
  CHECK(doc.kind == "messages");
  auto json = parse(doc.json);
  CHECK(std::string{json["role"].GetString()} == "assistant");
  CHECK(std::string{json["content"].GetString()} == "4 \"quoted\"");
  CHECK(json["token_count"].GetInt() == 3);
  CHECK(std::string{json["run_id"].GetString()} == "r1");
  REQUIRE(doc.index.size() == 1);
  CHECK(doc.index[0].field == "conversation_id");
  CHECK(doc.index[0].value == "c1");
}

TEST_CASE("deleting refuses while referenced, except what cascades",
          "[protocol][resources]") {
  auto refs = referrers_of(*find_kind("personas"));
  REQUIRE(refs.size() == 1);
  CHECK(refs[0].kind == "conversations");
  CHECK(refs[0].field == "persona_id");
  // Messages go with their conversation; flow instances hold it back.
  auto conv = referrers_of(*find_kind("conversations"));
  REQUIRE(conv.size() == 1);
  CHECK(conv[0].kind == "flow-instances");
}

TEST_CASE("a finished run sums up as the chat/send answer",
          "[protocol][resources]") {
  std::vector<event_frame> frames = {
    {"r", 1, "stage_update",
     R"({"type":"stage_update","data":{"stage":"reasoning","status":"started"}})",
     false},
    {"r", 2, "chunk", R"({"type":"chunk","data":{"content":"4"}})", false},
    {"r", 3, "done",
     R"({"type":"done","data":{"message_id":"m","content":"4","thinking":"t",)"
     R"("usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}})",
     true},
  };
  auto summary = summarize_run("c", frames, 12);
  CHECK(summary.outcome == "done");
  auto json = parse(summary.json);
  CHECK(std::string{json["content"].GetString()} == "4");
  CHECK(std::string{json["message_id"].GetString()} == "m");
  CHECK(json["usage"]["total_tokens"].GetInt() == 3);
  CHECK(json["stages"].Size() == 1);
  CHECK(json["duration_ms"].GetInt() == 12);
  frames.back()
    = {"r", 3, "error",
       R"({"type":"error","data":{"code":"internal","message":"x"}})", true};
  summary = summarize_run("c", frames, 12);
  CHECK(summary.outcome == "error");
  CHECK(summary.error_message == "x");
}
