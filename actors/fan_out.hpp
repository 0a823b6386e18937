// Fan-out of frames to many subscribers. The batch is wrapped in a single
// caf::message that every mailbox shares (CAF messages are copy-on-write),
// so a run followed by N tabs encodes and allocates its bytes once, not N
// times.
#pragma once

#include <algorithm>
#include <vector>

#include <caf/local_actor.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/make_message.hpp>

#include "actors/interfaces.hpp"

namespace parley {

/// Sends `batch` to every actor in `a` and `b`, each at most once.
inline void fan_out(caf::local_actor* self, frame_batch batch,
                    const std::vector<subscriber_actor>& a,
                    const std::vector<subscriber_actor>& b) {
  if ((a.empty() && b.empty()) || batch.frames.empty())
    return;
  auto msg = caf::make_message(std::move(batch));
  auto deliver = [&](const subscriber_actor& to) {
    to->enqueue(caf::strong_actor_ptr{self->ctrl()}, caf::make_message_id(),
                msg, self->context());
  };
  for (auto& x : a)
    deliver(x);
  for (auto& x : b)
    if (std::find(a.begin(), a.end(), x) == a.end())
      deliver(x);
}

} // namespace parley
