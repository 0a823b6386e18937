#include "actors/run_waiter.hpp"

#include <caf/all.hpp>

namespace parley {

namespace {

struct run_waiter_state {
  std::vector<event_frame> frames;
  caf::typed_response_promise<std::vector<event_frame>> reply;
  std::string run_id;

  static inline const char* name = "run_waiter";
};

using waiter_ptr = run_waiter_actor::stateful_pointer<run_waiter_state>;

} // namespace

run_waiter_actor spawn_run_waiter(caf::actor_system& sys,
                                  chat_registry_actor chats,
                                  server_options options) {
  auto behavior
    = [](waiter_ptr self, chat_registry_actor chats,
         server_options options) -> run_waiter_actor::behavior_type {
    // A registry that goes away (the server stops) ends the wait.
    self->monitor(chats);
    self->set_down_handler([self](const caf::down_msg&) {
      auto& st = self->state;
      if (st.reply.pending())
        st.reply.deliver(make_error(error_code::storage_unavailable,
                                    "the server is stopping"));
      self->quit();
    });
    return {
      [self, chats, options](
        run_atom, run_request& req) -> caf::result<std::vector<event_frame>> {
        auto& st = self->state;
        st.run_id = req.run_id;
        st.reply = self->make_response_promise<std::vector<event_frame>>();
        self
          ->request(chats, options.store_timeout, run_atom::value,
                    std::move(req), caf::actor_cast<subscriber_actor>(self))
          .then([](const run_ticket&) {},
                [self](caf::error& err) {
                  self->state.reply.deliver(std::move(err));
                  self->quit();
                });
        return self->state.reply;
      },
      [self](const frame_batch& batch) {
        auto& st = self->state;
        for (auto& frame : batch.frames) {
          // Without a run id of its own choosing, the first frame names it.
          if (st.run_id.empty())
            st.run_id = frame.chat_session_id;
          if (frame.chat_session_id != st.run_id
              || (!st.frames.empty() && frame.seq <= st.frames.back().seq))
            continue;
          bool terminal = frame.terminal;
          st.frames.push_back(frame);
          if (terminal) {
            st.reply.deliver(std::move(st.frames));
            self->quit();
            return;
          }
        }
      },
    };
  };
  return sys.spawn(behavior, std::move(chats), std::move(options));
}

} // namespace parley
