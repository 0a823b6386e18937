// The per-address connection counter behind --max-conns-per-ip, without a
// socket.
#include <vector>

#include <catch2/catch.hpp>

#include "transport/connection_limit.hpp"

using namespace parley;

TEST_CASE("the connection counter refuses an address at its limit until a "
          "slot is released",
          "[transport][conn_limit]") {
  connection_counter counter{2};
  auto a = counter.try_acquire("10.0.0.1");
  auto b = counter.try_acquire("10.0.0.1");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(counter.count("10.0.0.1") == 2);
  CHECK_FALSE(counter.try_acquire("10.0.0.1"));
  // Another address has its own budget.
  auto other = counter.try_acquire("10.0.0.2");
  CHECK(other);
  // A moved slot still counts once; destroying it releases it.
  auto moved = std::move(*a);
  a.reset();
  CHECK(counter.count("10.0.0.1") == 2);
  { auto gone = std::move(moved); }
  CHECK(counter.count("10.0.0.1") == 1);
  CHECK(counter.try_acquire("10.0.0.1"));
  // The temporary above was released at once.
  CHECK(counter.count("10.0.0.1") == 1);
  b.reset();
  other.reset();
  CHECK(counter.count("10.0.0.1") == 0);
  CHECK(counter.count("10.0.0.2") == 0);
}

TEST_CASE("a connection counter with limit 0 refuses nobody",
          "[transport][conn_limit]") {
  connection_counter counter{0};
  std::vector<connection_slot> slots;
  for (int i = 0; i < 1000; ++i) {
    auto slot = counter.try_acquire("127.0.0.1");
    REQUIRE(slot);
    slots.push_back(std::move(*slot));
  }
  CHECK(counter.count("127.0.0.1") == 0);
}
