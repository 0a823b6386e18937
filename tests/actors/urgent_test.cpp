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

using ask_fn = void (*)(caf::event_based_actor*, const caf::actor&);

caf::behavior recorder(caf::event_based_actor*, std::vector<int>* seen) {
  return {
    [seen](int x) {
      seen->push_back(x);
      return x;
    },
  };
}

/// Sends 1, 2, 3 to `target`, then asks it 99 with `ask`.
caf::behavior sender(caf::event_based_actor* self, caf::actor target,
                     ask_fn ask) {
  for (int i = 1; i <= 3; ++i)
    self->send(target, i);
  ask(self, target);
  return {[](int) {}};
}

/// The order in which a receiver handled 1, 2, 3 and then 99 asked with
/// `ask`, all in its mailbox before it ran.
std::vector<int> order_seen(ask_fn ask) {
  test_config cfg;
  caf::actor_system sys{cfg};
  auto& sched
    = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  std::vector<int> seen;
  auto target = sys.spawn(recorder, &seen);
  auto from = sys.spawn(sender, target, ask);
  sched.run();
  // Ends both, so the system can shut down.
  for (auto& x : {target, from})
    caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
  sched.run();
  return seen;
}

} // namespace

TEST_CASE("an urgent request overtakes the messages queued before it",
          "[actors][urgent]") {
  auto seen
    = order_seen([](caf::event_based_actor* self, const caf::actor& to) {
        request_urgent(self, to, std::chrono::seconds{1}, 99).then([](int) {});
      });
  CHECK(seen == std::vector<int>{99, 1, 2, 3});
}

TEST_CASE("a plain request keeps its place in the queue", "[actors][urgent]") {
  auto seen
    = order_seen([](caf::event_based_actor* self, const caf::actor& to) {
        self->request(to, std::chrono::seconds{1}, 99).then([](int) {});
      });
  CHECK(seen == std::vector<int>{1, 2, 3, 99});
}
