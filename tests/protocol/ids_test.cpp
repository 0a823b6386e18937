// Identifiers and clocks: UUID shape, version and variant; ISO 8601 times.
#include <set>
#include <string>

#include <catch2/catch.hpp>

#include "protocol/ids.hpp"

using namespace parley;

TEST_CASE("make_uuid makes canonical version-4 UUIDs", "[ids]") {
  id_generator rng{42};
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto id = make_uuid(rng);
    INFO(id);
    REQUIRE(id.size() == 36);
    CHECK(is_uuid(id));
    CHECK(id[14] == '4');                                         // version
    CHECK(std::string{"89ab"}.find(id[19]) != std::string::npos); // variant
    CHECK(id.find_first_of("ABCDEF") == std::string::npos);       // lower case
    seen.insert(id);
  }
  CHECK(seen.size() == 1000);
}

TEST_CASE("is_uuid accepts only the 8-4-4-4-12 hex form", "[ids]") {
  CHECK(is_uuid("3f1c2a9e-8d4b-4c1e-9a7f-2b6d5e8c1f00"));
  CHECK(is_uuid("3F1C2A9E-8D4B-4C1E-9A7F-2B6D5E8C1F00"));
  CHECK_FALSE(is_uuid(""));
  CHECK_FALSE(is_uuid("3f1c2a9e8d4b4c1e9a7f2b6d5e8c1f00"));
  CHECK_FALSE(is_uuid("3f1c2a9e-8d4b-4c1e-9a7f-2b6d5e8c1f0"));
  CHECK_FALSE(is_uuid("3f1c2a9e-8d4b-4c1e-9a7f-2b6d5e8c1f000"));
  CHECK_FALSE(is_uuid("3f1c2a9g-8d4b-4c1e-9a7f-2b6d5e8c1f00"));
  CHECK_FALSE(is_uuid("3f1c2a9e-8d4b-4c1e-9a7f_2b6d5e8c1f00"));
  CHECK_FALSE(is_uuid("3f1c2a9e-8d4b-4c1e-9a7f-2b6d5e8c1f0-"));
}

TEST_CASE("to_iso8601 renders UTC with milliseconds", "[ids]") {
  CHECK(to_iso8601(0) == "1970-01-01T00:00:00.000Z");
  CHECK(to_iso8601(1795587328123) == "2026-11-25T06:15:28.123Z");
  CHECK(to_iso8601(951782400999) == "2000-02-29T00:00:00.999Z");
}

TEST_CASE("to_iso8601 floors times before 1970", "[ids]") {
  CHECK(to_iso8601(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(to_iso8601(-1000) == "1969-12-31T23:59:59.000Z");
  CHECK(to_iso8601(-1001) == "1969-12-31T23:59:58.999Z");
}

TEST_CASE("unix_time_ms reads the system clock", "[ids]") {
  auto now = unix_time_ms();
  CHECK(now > 1700000000000); // after November 2023
  CHECK(unix_time_ms() >= now);
}
