// The keys actor: a node asks it before serving, and by its answer the
// ring holds every key the store had, so no valid key meets a 401 on a
// node that has just started.
#include <chrono>

#include <catch2/catch.hpp>

#include "actors/keys.hpp"

#include "tests/actors/fixture.hpp"

using namespace parley;
using namespace parley::testing;

TEST_CASE_METHOD(fixture,
                 "a new keys actor answers health only once it has loaded "
                 "the keys the store holds",
                 "[actors][keys]") {
  // One node makes a key.
  auto first = spawn_keys(sys, store, std::make_shared<key_ring>(),
                          std::chrono::seconds{2}, opts, nullptr);
  auto made = self->request(first, caf::infinite, create_atom::value,
                            std::string{"dana"}, false);
  run();
  std::string key;
  made.receive([&](const api_key_info& info) { key = info.key; },
               [](caf::error&) { FAIL("the key was not made"); });
  REQUIRE_FALSE(key.empty());
  // Another node starts: nothing loaded until its actor has run.
  auto ring = std::make_shared<key_ring>();
  auto second
    = spawn_keys(sys, store, ring, std::chrono::seconds{2}, opts, nullptr);
  CHECK(ring->size() == 0);
  auto ready = self->request(second, caf::infinite, health_atom::value);
  run();
  bool answered = false;
  ready.receive([&](caf::ok_atom) { answered = true; },
                [](caf::error&) { FAIL("health failed"); });
  CHECK(answered);
  CHECK(ring->size() == 1);
  auto who = ring->authenticate(key);
  REQUIRE(who);
  CHECK(who->user == "dana");
  // Asked again later, it answers at once.
  auto again = self->request(second, caf::infinite, health_atom::value);
  run();
  again.receive([](caf::ok_atom) {}, [](caf::error&) { FAIL("health"); });
  for (auto& x : {caf::actor_cast<caf::actor>(first),
                  caf::actor_cast<caf::actor>(second)})
    caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
  run();
}
