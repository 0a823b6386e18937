// Asks an actor from an Asio thread without blocking it. A one-shot
// event-based actor makes the request; its reply (or error) is posted back
// onto the caller's executor, normally the session's strand, so the handler
// runs where the session's state may be touched.
//
//   http_session --spawn--> one-shot --request--> registry
//   http_session <--post(strand)-- one-shot <--reply/error--
//
// Costs one short-lived actor per request (a few hundred bytes and one
// mailbox); a scoped_actor would be cheaper to write but would block the I/O
// thread for up to `timeout`.
#pragma once

#include <chrono>
#include <memory>
#include <type_traits>
#include <utility>

#include <boost/asio/post.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>

namespace parley {

/// Sends `xs...` to `dest` and calls `handler(caf::expected<Reply>)` on `ex`
/// with the reply, or with the error (request_timeout after `timeout`).
/// The one-shot actor holds `lease` until it ends, so the owner of `ex` can
/// tell whether an actor may still post to it.
template<class Reply, class Executor, class Handle, class Handler, class... Ts>
void ask_actor(caf::actor_system& sys, std::shared_ptr<const void> lease,
               const Executor& ex, const Handle& dest,
               std::chrono::milliseconds timeout, Handler handler, Ts&&... xs) {
  auto deliver = [ex, lease](Handler& h, caf::expected<Reply> result) {
    boost::asio::post(ex, [h = std::move(h), r = std::move(result)]() mutable {
      h(std::move(r));
    });
  };
  // The message travels as spawn arguments rather than captures: CAF 0.17
  // dereferences a null argument tuple when a function actor takes none.
  sys.spawn(
    [=](caf::event_based_actor* self, std::decay_t<Ts>... ys) mutable {
      // Only one of the two callbacks ever runs, so each owns a copy.
      self->request(dest, timeout, std::move(ys)...)
        .then(
          [=](Reply& reply) mutable { deliver(handler, std::move(reply)); },
          [=](caf::error& err) mutable { deliver(handler, std::move(err)); });
    },
    std::forward<Ts>(xs)...);
}

} // namespace parley
