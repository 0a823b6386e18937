// Requests that go ahead of the messages already waiting in the receiver's
// mailbox: what a user is waiting on (a cancel, the store write that ends
// a run) should not queue behind background work.
#pragma once

#include <chrono>
#include <utility>

#include <caf/duration.hpp>
#include <caf/message_priority.hpp>

namespace parley {

/// `self->request` with message_priority::high. Use this rather than
/// `request<message_priority::high>` with a std::chrono timeout: in CAF
/// 0.17 that overload forwards to the caf::duration one without the
/// priority (caf/mixin/requester.hpp), so the message goes out as normal.
template<class Self, class Handle, class Rep, class Period, class... Ts>
auto request_urgent(Self* self, const Handle& dest,
                    std::chrono::duration<Rep, Period> timeout, Ts&&... xs) {
  return self->template request<caf::message_priority::high>(
    dest, caf::duration{timeout}, std::forward<Ts>(xs)...);
}

} // namespace parley
