// The store's resource operations, each of which must be all or nothing:
// unique fields, references, cascades and restricted deletes.
#include <catch2/catch.hpp>

#include "protocol/resources.hpp"

#include "tests/actors/fixture.hpp"

using namespace parley;
using namespace parley::testing;

namespace {

struct store_fixture : fixture {
  /// Sends `xs...` to the store and returns its reply or error.
  template<class Reply, class... Ts>
  caf::expected<Reply> ask(Ts&&... xs) {
    auto handle = self->request(store, caf::infinite, std::forward<Ts>(xs)...);
    run();
    caf::expected<Reply> out{caf::no_error};
    handle.receive([&](Reply& x) { out = std::move(x); },
                   [&](caf::error& err) { out = std::move(err); });
    return out;
  }

  caf::expected<resource_doc> put(const std::string& kind,
                                  const std::string& id,
                                  const std::string& body,
                                  put_mode mode = put_mode::create) {
    auto& spec = *find_kind(kind);
    auto checked = validate(spec.schema, body);
    REQUIRE(std::holds_alternative<validated_object>(checked));
    auto& obj = std::get<validated_object>(checked);
    return ask<resource_doc>(res_put_atom::value, make_doc(spec, id, obj, 1, 2),
                             mode, references_of(spec.schema, obj));
  }

  resource_page list(resource_query q) {
    auto page = ask<resource_page>(res_list_atom::value, std::move(q));
    REQUIRE(page);
    return *page;
  }

  caf::expected<caf::ok_atom> remove(const std::string& kind,
                                     const std::string& id) {
    auto& spec = *find_kind(kind);
    return ask<caf::ok_atom>(res_del_atom::value, kind, id, spec.cascades,
                             referrers_of(spec));
  }
};

const std::string p1 = "00000000-0000-4000-8000-000000000001";
const std::string c1 = "00000000-0000-4000-8000-000000000002";

std::string conversation_of(const std::string& persona) {
  return R"({"persona_id":")" + persona + R"("})";
}

std::string message_in(const std::string& conv, const std::string& text) {
  return R"({"conversation_id":")" + conv + R"(","role":"user","content":")"
         + text + R"("})";
}

} // namespace

TEST_CASE_METHOD(store_fixture, "create, replace and ensure",
                 "[store][resources]") {
  REQUIRE(put("personas", p1, R"({"name":"Ada"})"));
  auto again = put("personas", p1, R"({"name":"Bea"})");
  REQUIRE_FALSE(again);
  CHECK(to_error_code(again.error()) == error_code::conflict);
  auto kept = put("personas", p1, R"({"name":"Bea"})", put_mode::ensure);
  REQUIRE(kept);
  CHECK(kept->json.find("Ada") != std::string::npos);
  auto replaced = put("personas", p1, R"({"name":"Cy"})", put_mode::replace);
  REQUIRE(replaced);
  CHECK(replaced->json.find("Cy") != std::string::npos);
  auto missing = put("personas", c1, R"({"name":"D"})", put_mode::replace);
  REQUIRE_FALSE(missing);
  CHECK(to_error_code(missing.error()) == error_code::not_found);
}

TEST_CASE_METHOD(store_fixture, "unique fields stay unique, also on replace",
                 "[store][resources]") {
  auto a = "00000000-0000-4000-8000-00000000000a";
  auto b = "00000000-0000-4000-8000-00000000000b";
  REQUIRE(put("modules", a, R"({"name":"greet"})"));
  REQUIRE(put("modules", b, R"({"name":"bye"})"));
  auto clash = put("modules", b, R"({"name":"greet"})", put_mode::replace);
  REQUIRE_FALSE(clash);
  CHECK(to_error_code(clash.error()) == error_code::conflict);
  CHECK(error_field(clash.error()) == "name");
  // b kept its name; a rename frees the old one.
  REQUIRE(put("modules", a, R"({"name":"hello"})", put_mode::replace));
  REQUIRE(put("modules", b, R"({"name":"greet"})", put_mode::replace));
}

TEST_CASE_METHOD(store_fixture, "references must exist when written",
                 "[store][resources]") {
  auto orphan = put("conversations", c1, conversation_of(p1));
  REQUIRE_FALSE(orphan);
  CHECK(to_error_code(orphan.error()) == error_code::validation_failed);
  CHECK(error_field(orphan.error()) == "persona_id");
  CHECK(list({"conversations", {}, {}, 0, 10}).total == 0);
  REQUIRE(put("personas", p1, R"({"name":"Ada"})"));
  REQUIRE(put("conversations", c1, conversation_of(p1)));
}

TEST_CASE_METHOD(store_fixture,
                 "deletes cascade to dependants and refuse while referenced",
                 "[store][resources]") {
  REQUIRE(put("personas", p1, R"({"name":"Ada"})"));
  REQUIRE(put("conversations", c1, conversation_of(p1)));
  for (int i = 0; i < 3; ++i)
    REQUIRE(put("messages",
                "00000000-0000-4000-8000-00000000010" + std::to_string(i),
                message_in(c1, "m" + std::to_string(i))));
  auto refused = remove("personas", p1);
  REQUIRE_FALSE(refused);
  CHECK(to_error_code(refused.error()) == error_code::conflict);
  REQUIRE(remove("conversations", c1));
  CHECK(list({"messages", {}, {}, 0, 10}).total == 0);
  CHECK(list({"messages", "conversation_id", c1, 0, 10}).total == 0);
  REQUIRE(remove("personas", p1));
  auto gone = remove("personas", p1);
  REQUIRE_FALSE(gone);
  CHECK(to_error_code(gone.error()) == error_code::not_found);
}

TEST_CASE_METHOD(store_fixture, "lists page in insertion order with a total",
                 "[store][resources]") {
  REQUIRE(put("personas", p1, R"({"name":"Ada"})"));
  REQUIRE(put("conversations", c1, conversation_of(p1)));
  for (int i = 0; i < 5; ++i)
    REQUIRE(put("messages",
                "00000000-0000-4000-8000-00000000020" + std::to_string(i),
                message_in(c1, "m" + std::to_string(i))));
  auto page = list({"messages", "conversation_id", c1, 1, 2});
  CHECK(page.total == 5);
  REQUIRE(page.items.size() == 2);
  CHECK(page.items[0].json.find("\"m1\"") != std::string::npos);
  CHECK(page.items[1].json.find("\"m2\"") != std::string::npos);
  CHECK(list({"personas", "is_active", "true", 0, 50}).total == 1);
  CHECK(list({"personas", "is_active", "false", 0, 50}).total == 0);
}
