// The bounded memory behind a connection's delivered seqs and the
// registry's routes: it keeps the last N keys and names each one it drops.
#include <catch2/catch.hpp>

#include "actors/recent_keys.hpp"

using namespace parley;

TEST_CASE("recent_keys forgets the oldest key once full, one per push",
          "[actors][bounds]") {
  recent_keys keys{3};
  CHECK_FALSE(keys.push("a"));
  CHECK_FALSE(keys.push("b"));
  CHECK_FALSE(keys.push("c"));
  CHECK(keys.size() == 3);
  CHECK(keys.push("d") == std::optional<std::string>{"a"});
  CHECK(keys.push("e") == std::optional<std::string>{"b"});
  CHECK(keys.push("f") == std::optional<std::string>{"c"});
  // Round the ring again: the keys come back out in the order they went in.
  CHECK(keys.push("g") == std::optional<std::string>{"d"});
  CHECK(keys.size() == 3);
}
