// What the REST channel asks of the actors: SSE streams that resume without
// gaps or duplicates, idempotent starts, rollback, events by page, forgotten
// histories, and waiting for a whole answer.
#include <catch2/catch.hpp>

#include "actors/run_waiter.hpp"
#include "actors/sse_stream.hpp"
#include "protocol/resources.hpp"

#include "tests/actors/fixture.hpp"

using namespace parley;
using namespace parley::testing;

namespace {

class recording_stream : public stream_sink {
 public:
  void open(std::string run_id) override {
    std::lock_guard<std::mutex> guard{mtx_};
    opened_ = run_id;
  }
  void refuse(error_code code, std::string, std::string) override {
    std::lock_guard<std::mutex> guard{mtx_};
    refused_ = code;
  }
  /// Keeps each event (or comment) of `text` on its own: a batch of frames
  /// arrives as one piece of text.
  void send_text(std::shared_ptr<const std::string> text) override {
    std::lock_guard<std::mutex> guard{mtx_};
    size_t from = 0;
    while (from < text->size()) {
      auto end = text->find("\n\n", from);
      REQUIRE(end != std::string::npos);
      texts_.push_back(text->substr(from, end + 2 - from));
      from = end + 2;
    }
  }
  void end() override {
    std::lock_guard<std::mutex> guard{mtx_};
    ended_ = true;
  }

  std::string opened() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return opened_;
  }
  std::optional<error_code> refused() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return refused_;
  }
  bool ended() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return ended_;
  }
  /// The `id:` of every event written, in order.
  std::vector<uint64_t> ids() const {
    std::lock_guard<std::mutex> guard{mtx_};
    std::vector<uint64_t> out;
    for (auto& text : texts_)
      if (text.rfind("id: ", 0) == 0)
        out.push_back(std::stoull(text.substr(4)));
    return out;
  }
  size_t comments() const {
    std::lock_guard<std::mutex> guard{mtx_};
    size_t n = 0;
    for (auto& text : texts_)
      n += text.rfind(": keep-alive", 0) == 0;
    return n;
  }
  bool has_answer_chunk() const {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& text : texts_)
      if (text.find("event: chunk") != std::string::npos
          && text.find(R"("thinking":false)") != std::string::npos)
        return true;
    return false;
  }
  std::string last_event() const {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto i = texts_.rbegin(); i != texts_.rend(); ++i)
      if (auto at = i->find("event: "); at != std::string::npos)
        return i->substr(at + 7, i->find('\n', at) - at - 7);
    return {};
  }

 private:
  mutable std::mutex mtx_;
  std::string opened_;
  std::optional<error_code> refused_;
  std::vector<std::string> texts_;
  bool ended_ = false;
};

struct rest_fixture : fixture {
  template<class Reply, class Dest, class... Ts>
  caf::expected<Reply> ask(const Dest& dest, Ts&&... xs) {
    auto handle = self->request(dest, caf::infinite, std::forward<Ts>(xs)...);
    run();
    caf::expected<Reply> out{caf::no_error};
    handle.receive([&](Reply& x) { out = std::move(x); },
                   [&](caf::error& err) { out = std::move(err); });
    return out;
  }

  run_request question(std::string text = "What is (17+4)*3?") {
    run_request req;
    req.conversation_id = "conv-1";
    req.message = std::move(text);
    req.strategy = multitask_strategy::reject;
    return req;
  }

  /// A long run, and one queued behind it on the same conversation.
  std::pair<run_ticket, run_ticket> busy_and_queued() {
    auto busy = start(question("Count the words in \"a b c d e f g h\""));
    auto req = question();
    req.strategy = multitask_strategy::enqueue;
    return {busy, start(req)};
  }

  run_ticket start(run_request req) {
    auto ticket = ask<run_ticket>(chats, run_atom::value, std::move(req),
                                  subscriber_actor{});
    REQUIRE(ticket);
    return *ticket;
  }

  std::shared_ptr<recording_stream> follow(const std::string& run_id,
                                           uint64_t last_seq) {
    return follow_with_handle(run_id, last_seq).first;
  }

  std::pair<std::shared_ptr<recording_stream>, sse_stream_actor>
  follow_with_handle(const std::string& run_id, uint64_t last_seq) {
    auto sink = std::make_shared<recording_stream>();
    sse_plan plan;
    plan.run_id = run_id;
    plan.last_seq = last_seq;
    plan.keep_alive = std::chrono::milliseconds{3};
    auto actor = spawn_sse_stream(sys, chats, sink, std::move(plan), opts);
    run();
    return {sink, actor};
  }

  std::vector<uint64_t> one_to(uint64_t n) {
    std::vector<uint64_t> out;
    for (uint64_t i = 1; i <= n; ++i)
      out.push_back(i);
    return out;
  }
};

} // namespace

TEST_CASE_METHOD(rest_fixture,
                 "an SSE stream resumes after Last-Event-ID with no gap and "
                 "no duplicate, and ends on the terminal event",
                 "[actors][sse]") {
  auto ticket = start(question());
  auto run_id = ticket.record.id;
  for (int i = 0; i < 4; ++i)
    step();
  auto [first, first_actor] = follow_with_handle(run_id, 0);
  auto seen = first->ids();
  REQUIRE(seen.size() >= 3);
  // The client drops here; a new stream resumes after what it saw.
  anon_send(first_actor, closed_atom::value);
  run();
  auto second = follow(run_id, seen.back());
  finish_runs();
  CHECK(first->ids() == seen);
  CHECK_FALSE(first->ended());
  CHECK(second->opened() == run_id);
  CHECK(second->ended());
  auto rest = second->ids();
  REQUIRE_FALSE(rest.empty());
  CHECK(rest.front() == seen.back() + 1);
  auto last = run_in_store(run_id).last_seq;
  CHECK(rest.back() == last);
  std::vector<uint64_t> all = seen;
  all.insert(all.end(), rest.begin(), rest.end());
  CHECK(all == one_to(last));
  CHECK(second->last_event() == "done");
}

TEST_CASE_METHOD(rest_fixture,
                 "a finished run streams its rest at once; an unknown one is "
                 "refused",
                 "[actors][sse]") {
  auto run_id = start(question()).record.id;
  finish_runs();
  auto last = run_in_store(run_id).last_seq;
  auto late = follow(run_id, last - 2);
  CHECK(late->ids() == std::vector<uint64_t>{last - 1, last});
  CHECK(late->ended());
  auto unknown = follow("00000000-0000-4000-8000-00000000ffff", 0);
  REQUIRE(unknown->refused());
  CHECK(*unknown->refused() == error_code::not_found);
  CHECK(unknown->opened().empty());
}

TEST_CASE_METHOD(rest_fixture, "an idle stream writes keep-alive comments",
                 "[actors][sse]") {
  // A queued run behind a long one: its stream waits with nothing to say.
  auto [busy, queued] = busy_and_queued();
  CHECK(queued.record.status == run_status::queued);
  auto sink = follow(queued.record.id, 0);
  for (int i = 0; i < 3; ++i) {
    sched.advance_time(std::chrono::milliseconds{3});
    run();
  }
  CHECK(sink->comments() >= 2);
  CHECK(sink->ids().empty());
  finish_runs();
  CHECK(sink->ended());
  CHECK(sink->ids() == one_to(run_in_store(queued.record.id).last_seq));
  (void)busy;
}

TEST_CASE_METHOD(rest_fixture,
                 "a queued run cancelled as it starts ends cancelled in the "
                 "store: its run_fin does not overtake its run_open",
                 "[actors][runs]") {
  auto [busy, queued] = busy_and_queued();
  REQUIRE(queued.record.status == run_status::queued);
  // Both at once: ending the busy run starts the queued one, which sends
  // its run_open and, before the store has answered, meets its cancel.
  caf::anon_send(chats, cancel_atom::value, std::string{}, busy.record.id,
                 true);
  caf::anon_send(chats, cancel_atom::value, std::string{}, queued.record.id,
                 true);
  finish_runs();
  CHECK(run_in_store(busy.record.id).status == run_status::cancelled);
  auto rec = run_in_store(queued.record.id);
  CHECK(rec.status == run_status::cancelled);
  CHECK(rec.last_seq == 2); // chat_session_start, cancelled
}

TEST_CASE_METHOD(rest_fixture,
                 "a client-chosen run id starts one run however often it is "
                 "sent",
                 "[actors][runs]") {
  auto req = question();
  req.run_id = "00000000-0000-4000-8000-0000000000aa";
  req.reuse_existing = true;
  auto first = start(req);
  CHECK(first.created);
  auto again = start(req);
  CHECK_FALSE(again.created);
  CHECK(again.record.id == first.record.id);
  finish_runs();
  // Also once the run is over, and from another conversation.
  req.conversation_id = "conv-2";
  auto later = start(req);
  CHECK_FALSE(later.created);
  CHECK(later.record.conversation_id == "conv-1");
  CHECK(later.record.status == run_status::complete);
  CHECK(messages_in_store("conv-2").empty());
}

TEST_CASE_METHOD(rest_fixture,
                 "reject refuses a second run; rollback drops the partial "
                 "answer, interrupt keeps it",
                 "[actors][runs]") {
  auto first = start(question("Count the words in \"a b c d e f g h i j\""));
  // Far enough that the answer has started streaming.
  auto sink = follow(first.record.id, 0);
  while (!sink->has_answer_chunk())
    step();
  auto refused
    = ask<run_ticket>(chats, run_atom::value, question(), subscriber_actor{});
  REQUIRE_FALSE(refused);
  CHECK(to_error_code(refused.error()) == error_code::conflict);

  SECTION("rollback") {
    auto req = question();
    req.strategy = multitask_strategy::rollback;
    start(req);
    finish_runs();
    auto rec = run_in_store(first.record.id);
    CHECK(rec.status == run_status::cancelled);
    CHECK(rec.result.empty());
    // Two questions, one answer: the second run's.
    auto messages = messages_in_store("conv-1");
    CHECK(messages.size() == 3);
  }
  SECTION("interrupt") {
    auto req = question();
    req.strategy = multitask_strategy::interrupt;
    start(req);
    finish_runs();
    auto rec = run_in_store(first.record.id);
    CHECK(rec.status == run_status::cancelled);
    CHECK_FALSE(rec.result.empty());
    CHECK(messages_in_store("conv-1").size() == 4);
  }
  CHECK(sink->last_event() == "cancelled");
  CHECK(sink->ended());
}

TEST_CASE_METHOD(rest_fixture, "a run's persona must exist", "[actors][runs]") {
  auto req = question();
  req.persona_id = "00000000-0000-4000-8000-0000000000bb";
  auto refused
    = ask<run_ticket>(chats, run_atom::value, req, subscriber_actor{});
  REQUIRE_FALSE(refused);
  CHECK(to_error_code(refused.error()) == error_code::validation_failed);
  CHECK(error_field(refused.error()) == "persona_id");
  auto& kind = *find_kind("personas");
  auto obj
    = std::get<validated_object>(validate(kind.schema, R"({"name":"A"})"));
  REQUIRE(ask<resource_doc>(store, res_put_atom::value,
                            make_doc(kind, req.persona_id, obj, 1, 1),
                            put_mode::create, std::vector<reference>{}));
  CHECK(start(req).created);
}

TEST_CASE_METHOD(rest_fixture,
                 "events page through a run; forgetting the conversation "
                 "makes its history gone but keeps the status",
                 "[actors][runs]") {
  auto run_id = start(question()).record.id;
  finish_runs();
  auto page = ask<std::vector<event_frame>>(
    chats, ev_get_atom::value, std::string{}, run_id, uint64_t{2}, uint32_t{3});
  REQUIRE(page);
  REQUIRE(page->size() == 3);
  CHECK((*page)[0].seq == 3);
  CHECK((*page)[2].seq == 5);
  REQUIRE(ask<caf::ok_atom>(chats, forget_atom::value, std::string{},
                            std::string{"conv-1"}));
  auto gone
    = ask<std::vector<event_frame>>(chats, ev_get_atom::value, std::string{},
                                    run_id, uint64_t{0}, uint32_t{10});
  REQUIRE_FALSE(gone);
  CHECK(to_error_code(gone.error()) == error_code::gone);
  auto stream = follow(run_id, 0);
  REQUIRE(stream->refused());
  CHECK(*stream->refused() == error_code::gone);
  auto status
    = ask<run_record>(chats, status_atom::value, std::string{}, run_id);
  REQUIRE(status);
  CHECK(status->status == run_status::complete);
}

TEST_CASE_METHOD(rest_fixture, "a waiter replies with the whole run",
                 "[actors][runs]") {
  auto waiter = spawn_run_waiter(sys, chats, opts);
  auto handle
    = self->request(waiter, caf::infinite, run_atom::value, question());
  run();
  finish_runs();
  std::vector<event_frame> frames;
  handle.receive([&](std::vector<event_frame>& xs) { frames = std::move(xs); },
                 [&](caf::error& err) { FAIL(sys.render(err)); });
  REQUIRE_FALSE(frames.empty());
  CHECK(frames.front().seq == 1);
  CHECK(frames.back().type == "done");
  CHECK(frames.back().seq == frames.size());
}
