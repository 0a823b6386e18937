// request_urgent really overtakes: the order a receiver handles its
// mailbox in, on the deterministic test scheduler.
#include <chrono>
#include <vector>

#include <catch2/catch.hpp>

#include "actors/urgent.hpp"

#include "tests/actors/fixture.hpp"

using namespace parley;
using namespace parley::testing;

namespace {

caf::behavior recorder(caf::event_based_actor*, std::vector<int>* seen) {
  return {
    [seen](int x) {
      seen->push_back(x);
      return x;
    },
  };
}

/// Sends 1, 2, 3 to `target`, then asks it 99 with `ask`.
template<class Ask>
caf::behavior sender(caf::event_based_actor* self, caf::actor target, Ask ask) {
  for (int i = 1; i <= 3; ++i)
    self->send(target, i);
  ask(self, target);
  return {[](int) {}};
}

/// Ends the actors, so the system can shut down.
void stop(caf::scheduler::test_coordinator& sched,
          std::initializer_list<caf::actor> actors) {
  for (auto& x : actors)
    caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
  sched.run();
}

} // namespace

TEST_CASE("an urgent request overtakes the messages queued before it",
          "[actors][urgent]") {
  test_config cfg;
  caf::actor_system sys{cfg};
  auto& sched
    = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  std::vector<int> seen;
  auto target = sys.spawn(recorder, &seen);
  auto from = sys.spawn(
    sender<void (*)(caf::event_based_actor*, caf::actor)>, target,
    [](caf::event_based_actor* self, caf::actor to) {
      request_urgent(self, to, std::chrono::seconds{1}, 99).then([](int) {});
    });
  sched.run();
  CHECK(seen == std::vector<int>{99, 1, 2, 3});
  stop(sched, {target, from});
}

TEST_CASE("a plain request keeps its place in the queue", "[actors][urgent]") {
  test_config cfg;
  caf::actor_system sys{cfg};
  auto& sched
    = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  std::vector<int> seen;
  auto target = sys.spawn(recorder, &seen);
  auto from = sys.spawn(
    sender<void (*)(caf::event_based_actor*, caf::actor)>, target,
    [](caf::event_based_actor* self, caf::actor to) {
      self->request(to, std::chrono::seconds{1}, 99).then([](int) {});
    });
  sched.run();
  CHECK(seen == std::vector<int>{1, 2, 3, 99});
  stop(sched, {target, from});
}
