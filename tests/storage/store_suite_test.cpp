// One suite, two backends: every message of store_actor against the memory
// store and against the Redis store (a private redis-server per case), so
// the two cannot drift apart. Each case names the behaviour both must show.
#include <catch2/catch.hpp>

#include "tests/storage/store_fixture.hpp"

using namespace parley;
using namespace parley::testing;

namespace {

const std::string p1 = "00000000-0000-4000-8000-000000000001";
const std::string c1 = "00000000-0000-4000-8000-000000000002";
const std::string c2 = "00000000-0000-4000-8000-000000000003";

std::string conversation_of(const std::string& persona) {
  return R"({"persona_id":")" + persona + R"("})";
}

std::string message_in(const std::string& conv, const std::string& text) {
  return R"({"conversation_id":")" + conv + R"(","role":"user","content":")"
         + text + R"("})";
}

std::string message_id(int i) {
  auto n = std::to_string(i);
  return "00000000-0000-4000-8000-" + std::string(12 - n.size(), '0') + n;
}

message_record answer_in(const std::string& conv, const std::string& id,
                         const std::string& run, const std::string& text) {
  return message_record{id, conv, "assistant", text, "", 3, run, "", 5000};
}

bool has(const resource_doc& doc, const std::string& text) {
  return doc.json.find(text) != std::string::npos;
}

} // namespace

TEMPLATE_TEST_CASE("stores: create refuses an existing id, ensure keeps it, "
                   "replace needs it",
                   "[store][shared]", memory_backend, redis_backend) {
  store_fixture<TestType> s;
  REQUIRE(s.put("personas", p1, R"({"name":"Ada"})"));
  auto again = s.put("personas", p1, R"({"name":"Bea"})");
  REQUIRE_FALSE(again);
  CHECK(to_error_code(again.error()) == error_code::conflict);
  CHECK(error_field(again.error()) == "id");
  auto kept = s.put("personas", p1, R"({"name":"Bea"})", put_mode::ensure);
  REQUIRE(kept);
  CHECK(has(*kept, "Ada"));
  auto replaced = s.put("personas", p1, R"({"name":"Cy"})", put_mode::replace);
  REQUIRE(replaced);
  CHECK(has(*replaced, "Cy"));
  auto missing = s.put("personas", c1, R"({"name":"D"})", put_mode::replace);
  REQUIRE_FALSE(missing);
  CHECK(to_error_code(missing.error()) == error_code::not_found);
  CHECK(error_message(missing.error()) == "no personas " + c1);
  CHECK(s.list({"personas", {}, {}, 0, 10}).total == 1);
}

TEMPLATE_TEST_CASE("stores: an object reads back exactly as it was written",
                   "[store][shared]", memory_backend, redis_backend) {
  store_fixture<TestType> s;
  auto written = s.put("modules", p1, R"({"name":"greet","content":"a:b,c"})");
  REQUIRE(written);
  auto read = s.get("modules", p1);
  REQUIRE(read);
  CHECK(read->kind == "modules");
  CHECK(read->id == p1);
  CHECK(read->json == written->json);
  CHECK(read->created_at_ms == 1);
  CHECK(read->updated_at_ms == 2);
  REQUIRE(read->unique.size() == 1);
  CHECK(read->unique[0].field == "name");
  CHECK(read->unique[0].value == "greet");
  REQUIRE(read->index.size() == written->index.size());
  for (size_t i = 0; i < read->index.size(); ++i) {
    CHECK(read->index[i].field == written->index[i].field);
    CHECK(read->index[i].value == written->index[i].value);
  }
  // Values are stored byte for byte, separators and all.
  std::string odd = "a:b,c\x01\xc3\xa9 3:x,";
  resource_doc doc{"things",        c2, "{}", {{"tag", odd}, {"empty", ""}},
                   {{"code", odd}}, -5, 0};
  REQUIRE(s.template ask<resource_doc>(
    res_put_atom::value, doc, put_mode::create, std::vector<reference>{}));
  auto back = s.get("things", c2);
  REQUIRE(back);
  REQUIRE(back->index.size() == 2);
  CHECK(back->index[0].value == odd);
  CHECK(back->index[1].field == "empty");
  CHECK(back->index[1].value.empty());
  REQUIRE(back->unique.size() == 1);
  CHECK(back->unique[0].value == odd);
  CHECK(back->created_at_ms == -5);
  CHECK(s.list({"things", "tag", odd, 0, 10}).total == 1);
  CHECK(s.list({"things", "empty", "", 0, 10}).total == 1);
  auto missing = s.get("modules", c1);
  REQUIRE_FALSE(missing);
  CHECK(to_error_code(missing.error()) == error_code::not_found);
  CHECK_FALSE(s.get("no-such-kind", p1));
}

TEMPLATE_TEST_CASE("stores: unique fields stay unique, also on replace",
                   "[store][shared]", memory_backend, redis_backend) {
  store_fixture<TestType> s;
  auto a = "00000000-0000-4000-8000-00000000000a";
  auto b = "00000000-0000-4000-8000-00000000000b";
  REQUIRE(s.put("modules", a, R"({"name":"greet"})"));
  REQUIRE(s.put("modules", b, R"({"name":"bye"})"));
  auto clash = s.put("modules", b, R"({"name":"greet"})", put_mode::replace);
  REQUIRE_FALSE(clash);
  CHECK(to_error_code(clash.error()) == error_code::conflict);
  CHECK(error_field(clash.error()) == "name");
  CHECK(error_message(clash.error())
        == "another of the modules already has name 'greet'");
  // b kept its name; a rename frees the old one.
  CHECK(has(*s.get("modules", b), "bye"));
  REQUIRE(s.put("modules", a, R"({"name":"hello"})", put_mode::replace));
  REQUIRE(s.put("modules", b, R"({"name":"greet"})", put_mode::replace));
  REQUIRE(s.put("modules", c1, R"({"name":"bye"})"));
  // A delete frees the value too.
  REQUIRE(s.remove("modules", c1));
  REQUIRE(s.put("modules", c2, R"({"name":"bye"})"));
}

TEMPLATE_TEST_CASE("stores: a write that fails a check leaves nothing behind",
                   "[store][shared]", memory_backend, redis_backend) {
  store_fixture<TestType> s;
  auto orphan = s.put("conversations", c1, conversation_of(p1));
  REQUIRE_FALSE(orphan);
  CHECK(to_error_code(orphan.error()) == error_code::validation_failed);
  CHECK(error_field(orphan.error()) == "persona_id");
  CHECK(error_message(orphan.error())
        == "field 'persona_id' names personas " + p1
             + ", which does not exist");
  CHECK(s.list({"conversations", {}, {}, 0, 10}).total == 0);
  CHECK(s.list({"conversations", "persona_id", p1, 0, 10}).total == 0);
  CHECK_FALSE(s.get("conversations", c1));
  // An object with a unique field and a dangling reference (made by hand:
  // no schema has both) claims neither its value nor an index entry.
  resource_doc doc{
    "modules", p1, R"({"id":"x"})", {{"kind", "a"}}, {{"name", "taken"}}, 1, 1};
  auto refused = s.template ask<resource_doc>(
    res_put_atom::value, doc, put_mode::create,
    std::vector<reference>{{"owner", "personas", c2}});
  REQUIRE_FALSE(refused);
  CHECK(to_error_code(refused.error()) == error_code::validation_failed);
  CHECK(error_field(refused.error()) == "owner");
  CHECK(s.list({"modules", "kind", "a", 0, 10}).total == 0);
  CHECK(s.list({"modules", {}, {}, 0, 10}).total == 0);
  CHECK_FALSE(s.get("modules", p1));
  REQUIRE(s.put("modules", c1, R"({"name":"taken"})"));
  REQUIRE(s.put("personas", p1, R"({"name":"Ada"})"));
  REQUIRE(s.put("conversations", c1, conversation_of(p1)));
}

TEMPLATE_TEST_CASE("stores: deletes cascade to dependants and refuse while "
                   "referenced",
                   "[store][shared]", memory_backend, redis_backend) {
  store_fixture<TestType> s;
  REQUIRE(s.put("personas", p1, R"({"name":"Ada"})"));
  REQUIRE(s.put("conversations", c1, conversation_of(p1)));
  REQUIRE(s.put("conversations", c2, conversation_of(p1)));
  for (int i = 0; i < 3; ++i)
    REQUIRE(s.put("messages", message_id(100 + i),
                  message_in(c1, "m" + std::to_string(i))));
  REQUIRE(s.put("messages", message_id(200), message_in(c2, "other")));
  auto refused = s.remove("personas", p1);
  REQUIRE_FALSE(refused);
  CHECK(to_error_code(refused.error()) == error_code::conflict);
  CHECK(error_field(refused.error()).empty());
  CHECK(error_message(refused.error())
        == "personas " + p1 + " is still referenced by conversations " + c1
             + " (persona_id); delete or change that first");
  CHECK(s.get("personas", p1));
  REQUIRE(s.remove("conversations", c1));
  CHECK(s.list({"messages", {}, {}, 0, 10}).total == 1);
  CHECK(s.list({"messages", "conversation_id", c1, 0, 10}).total == 0);
  CHECK_FALSE(s.get("messages", message_id(100)));
  REQUIRE(s.remove("conversations", c2));
  REQUIRE(s.remove("personas", p1));
  auto gone = s.remove("personas", p1);
  REQUIRE_FALSE(gone);
  CHECK(to_error_code(gone.error()) == error_code::not_found);
  CHECK(s.list({"messages", {}, {}, 0, 10}).total == 0);
}

TEMPLATE_TEST_CASE("stores: lists page in insertion order with a total",
                   "[store][shared]", memory_backend, redis_backend) {
  store_fixture<TestType> s;
  REQUIRE(s.put("personas", p1, R"({"name":"Ada"})"));
  REQUIRE(s.put("conversations", c1, conversation_of(p1)));
  // Ids in descending order, so insertion order is not id order.
  for (int i = 0; i < 12; ++i)
    REQUIRE(s.put("messages", message_id(500 - i),
                  message_in(c1, "m" + std::to_string(i))));
  auto page = s.list({"messages", "conversation_id", c1, 1, 2});
  CHECK(page.total == 12);
  REQUIRE(page.items.size() == 2);
  CHECK(has(page.items[0], "\"m1\""));
  CHECK(has(page.items[1], "\"m2\""));
  auto all = s.list({"messages", {}, {}, 0, 50});
  REQUIRE(all.items.size() == 12);
  for (int i = 0; i < 12; ++i)
    CHECK(all.items[i].id == message_id(500 - i));
  auto tail = s.list({"messages", {}, {}, 10, 50});
  CHECK(tail.total == 12);
  CHECK(tail.items.size() == 2);
  auto past = s.list({"messages", {}, {}, 12, 50});
  CHECK(past.total == 12);
  CHECK(past.items.empty());
  auto none = s.list({"messages", {}, {}, 0, 0});
  CHECK(none.total == 12);
  CHECK(none.items.empty());
  auto huge = s.list({"messages", {}, {}, UINT64_MAX - 1, UINT64_MAX});
  CHECK(huge.total == 12);
  CHECK(huge.items.empty());
  auto unlimited = s.list({"messages", {}, {}, 11, UINT64_MAX});
  REQUIRE(unlimited.items.size() == 1);
  CHECK(unlimited.items[0].id == message_id(489));
  CHECK(s.list({"personas", "is_active", "true", 0, 50}).total == 1);
  CHECK(s.list({"personas", "is_active", "false", 0, 50}).total == 0);
  CHECK(s.list({"unknown-kind", {}, {}, 0, 50}).total == 0);
}

TEMPLATE_TEST_CASE("stores: a replace keeps its place; a changed indexed value "
                   "goes last in its new index",
                   "[store][shared]", memory_backend, redis_backend) {
  store_fixture<TestType> s;
  auto a = "00000000-0000-4000-8000-00000000000a";
  auto b = "00000000-0000-4000-8000-00000000000b";
  auto c = "00000000-0000-4000-8000-00000000000c";
  REQUIRE(s.put("personas", a, R"({"name":"A","is_active":false})"));
  REQUIRE(s.put("personas", b, R"({"name":"B"})"));
  REQUIRE(s.put("personas", c, R"({"name":"C","is_active":false})"));
  REQUIRE(s.put("personas", a, R"({"name":"A2"})", put_mode::replace));
  auto all = s.list({"personas", {}, {}, 0, 10});
  REQUIRE(all.items.size() == 3);
  CHECK(all.items[0].id == a);
  CHECK(has(all.items[0], "A2"));
  auto active = s.list({"personas", "is_active", "true", 0, 10});
  REQUIRE(active.items.size() == 2);
  CHECK(active.items[0].id == b);
  CHECK(active.items[1].id == a);
  auto inactive = s.list({"personas", "is_active", "false", 0, 10});
  REQUIRE(inactive.items.size() == 1);
  CHECK(inactive.items[0].id == c);
  // An entry the object keeps keeps its place.
  REQUIRE(s.put("personas", b, R"({"name":"B2"})", put_mode::replace));
  active = s.list({"personas", "is_active", "true", 0, 10});
  REQUIRE(active.items.size() == 2);
  CHECK(active.items[0].id == b);
}

TEMPLATE_TEST_CASE("stores: a run record reads back as written",
                   "[store][shared]", memory_backend, redis_backend) {
  store_fixture<TestType> s;
  auto rec = run_of("r1", c1);
  rec.result = "partial: 42";
  rec.error = "";
  rec.last_seq = 17;
  REQUIRE(s.put_run(rec));
  auto read = s.get_run("r1");
  REQUIRE(read);
  CHECK(read->id == "r1");
  CHECK(read->conversation_id == c1);
  CHECK(read->agent_name == "researcher");
  CHECK(read->query == "why?");
  CHECK(read->status == run_status::running);
  CHECK(read->result == "partial: 42");
  CHECK(read->last_seq == 17);
  CHECK(read->created_at_ms == 1000);
  CHECK(read->updated_at_ms == 2000);
  rec.status = run_status::interrupted;
  rec.error = "the process died";
  REQUIRE(s.put_run(rec));
  read = s.get_run("r1");
  REQUIRE(read);
  CHECK(read->status == run_status::interrupted);
  CHECK(read->error == "the process died");
  auto missing = s.get_run("r2");
  REQUIRE_FALSE(missing);
  CHECK(to_error_code(missing.error()) == error_code::not_found);
}

TEMPLATE_TEST_CASE("stores: event logs keep the first copy of a repeated seq "
                   "and page by seq",
                   "[store][shared]", memory_backend, redis_backend) {
  store_fixture<TestType> s;
  REQUIRE(s.add_events("r1", events_of("r1", 1, 5, "first")));
  // A retried batch overlapping the stored one, with a repeat inside it.
  auto batch = events_of("r1", 4, 8, "second");
  batch.push_back(event_of("r1", 8, "third"));
  REQUIRE(s.add_events("r1", batch));
  auto all = s.events("r1");
  CHECK(seqs_of(all) == std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8});
  REQUIRE(all.size() == 8);
  CHECK(all[4].json.find("first") != std::string::npos);
  CHECK(all[5].json.find("second") != std::string::npos);
  CHECK(all[7].json.find("second") != std::string::npos);
  CHECK(all[0].chat_session_id == "r1");
  CHECK(all[0].type == "chunk");
  CHECK_FALSE(all[0].terminal);
  CHECK(seqs_of(s.events("r1", 3, 2)) == std::vector<uint64_t>{4, 5});
  CHECK(s.events("r1", 8).empty());
  CHECK(s.events("r1", 0, 0).empty());
  CHECK(s.events("r1", UINT64_MAX).empty());
  CHECK(s.events("unknown").empty());
  REQUIRE(s.add_events("r1", {event_of("r1", 9, "end", true)}));
  auto last = s.events("r1", 8);
  REQUIRE(last.size() == 1);
  CHECK(last[0].terminal);
  CHECK(last[0].type == "done");
}

TEMPLATE_TEST_CASE("stores: late events are kept in seq order",
                   "[store][shared]", memory_backend, redis_backend) {
  store_fixture<TestType> s;
  REQUIRE(s.add_events("r1", events_of("r1", 1, 3)));
  REQUIRE(s.add_events("r1", events_of("r1", 7, 9)));
  // 4..6 arrive after 7..9 (a lost batch sent again), out of order inside
  // the batch, with a repeat of a stored seq.
  REQUIRE(s.add_events("r1", {event_of("r1", 5, "late"), event_of("r1", 4),
                              event_of("r1", 8, "repeat"), event_of("r1", 6)}));
  auto all = s.events("r1");
  CHECK(seqs_of(all) == std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9});
  REQUIRE(all.size() == 9);
  CHECK(all[4].json.find("late") != std::string::npos);
  CHECK(all[7].json.find("repeat") == std::string::npos);
  CHECK(seqs_of(s.events("r1", 4, 3)) == std::vector<uint64_t>{5, 6, 7});
}

TEMPLATE_TEST_CASE("stores: run_open stores the record, its objects and its "
                   "first events; an object already there is kept",
                   "[store][shared]", memory_backend, redis_backend) {
  store_fixture<TestType> s;
  REQUIRE(s.put("conversations", c1, R"({"title":"made over REST"})"));
  auto conversation = conversation_doc(
    conversation_record{c1, "researcher", {}, {}, "", 1000, 1000});
  auto question = message_doc(
    message_record{message_id(1), c1, "user", "why?", {}, 0, "r1", "", 1000});
  auto rec = run_of("r1", c1);
  auto opened = s.template ask<caf::ok_atom>(
    run_open_atom::value, rec,
    std::vector<resource_doc>{conversation, question}, events_of("r1", 1, 1));
  REQUIRE(opened);
  auto read = s.get_run("r1");
  REQUIRE(read);
  CHECK(read->status == run_status::running);
  CHECK(read->query == "why?");
  CHECK(seqs_of(s.events("r1")) == std::vector<uint64_t>{1});
  auto conv = s.get("conversations", c1);
  REQUIRE(conv);
  CHECK(has(*conv, "made over REST"));
  auto msgs = s.list({"messages", "conversation_id", c1, 0, 10});
  REQUIRE(msgs.total == 1);
  CHECK(has(msgs.items[0], "why?"));
  // A queued run opens without events; its log starts later.
  REQUIRE(s.template ask<caf::ok_atom>(run_open_atom::value, run_of("r2", c1),
                                       std::vector<resource_doc>{},
                                       std::vector<event_frame>{}));
  CHECK(s.get_run("r2"));
  CHECK(s.events("r2").empty());
}

TEMPLATE_TEST_CASE("stores: run_fin stores the last events, the final record "
                   "and the answer",
                   "[store][shared]", memory_backend, redis_backend) {
  store_fixture<TestType> s;
  REQUIRE(s.put("personas", p1, R"({"name":"Ada"})"));
  REQUIRE(s.put("conversations", c1, conversation_of(p1)));
  REQUIRE(s.put("messages", message_id(1), message_in(c1, "question")));
  auto rec = run_of("r1", c1);
  REQUIRE(s.put_run(rec));
  REQUIRE(s.add_events("r1", events_of("r1", 1, 3)));
  rec.status = run_status::complete;
  rec.result = "forty-two";
  rec.last_seq = 5;
  auto xs = events_of("r1", 3, 4, "again");
  xs.push_back(event_of("r1", 5, "done", true));
  REQUIRE(s.finish(rec, xs,
                   {answer_in(c1, message_id(2), "r1", "forty-two"),
                    // Written already: kept as it is (ensure).
                    answer_in(c1, message_id(1), "r1", "overwritten?")}));
  auto read = s.get_run("r1");
  REQUIRE(read);
  CHECK(read->status == run_status::complete);
  CHECK(read->result == "forty-two");
  CHECK(read->last_seq == 5);
  auto all = s.events("r1");
  CHECK(seqs_of(all) == std::vector<uint64_t>{1, 2, 3, 4, 5});
  CHECK(all[2].json.find("again") == std::string::npos);
  CHECK(all[4].terminal);
  auto msgs = s.list({"messages", "conversation_id", c1, 0, 10});
  REQUIRE(msgs.total == 2);
  CHECK(has(msgs.items[0], "question"));
  CHECK(has(msgs.items[1], "forty-two"));
  CHECK(has(msgs.items[1], "\"role\":\"assistant\""));
  // The answer is an object like any other: found by run, deleted with its
  // conversation.
  CHECK(s.get("messages", message_id(2)));
  REQUIRE(s.remove("conversations", c1));
  CHECK(s.list({"messages", {}, {}, 0, 10}).total == 0);
}

TEMPLATE_TEST_CASE("stores: a run step puts a late event in its place, keeps "
                   "the first copy of a repeat, and can be written twice",
                   "[store][shared]", memory_backend, redis_backend) {
  store_fixture<TestType> s;
  auto live_ids = [&] {
    auto live = s.template ask<std::vector<run_record>>(run_live_atom::value);
    REQUIRE(live);
    std::vector<std::string> ids;
    for (auto& rec : *live)
      ids.push_back(rec.id);
    return ids;
  };
  auto rec = run_of("r1", c1);
  REQUIRE(s.template ask<caf::ok_atom>(run_open_atom::value, rec,
                                       std::vector<resource_doc>{},
                                       events_of("r1", 1, 2)));
  CHECK(live_ids() == std::vector<std::string>{"r1"});
  REQUIRE(s.add_events("r1", events_of("r1", 4, 5, "first")));
  rec.status = run_status::complete;
  rec.last_seq = 6;
  // 3 is late (4 and 5 are stored), 5 a repeat, 6 the terminal event.
  std::vector<event_frame> xs{event_of("r1", 3, "late"),
                              event_of("r1", 5, "repeat"),
                              event_of("r1", 6, "done", true)};
  auto answer = answer_in(c1, message_id(2), "r1", "six");
  REQUIRE(s.finish(rec, xs, {answer}));
  auto check_log = [&] {
    auto all = s.events("r1");
    REQUIRE(seqs_of(all) == std::vector<uint64_t>{1, 2, 3, 4, 5, 6});
    CHECK(all[2].json.find("late") != std::string::npos);
    CHECK(all[4].json.find("first") != std::string::npos);
    CHECK(all[5].terminal);
  };
  check_log();
  CHECK(live_ids().empty());
  // The same step again (a retry after its reply was lost) changes nothing.
  REQUIRE(s.finish(rec, xs, {answer}));
  check_log();
  CHECK(s.list({"messages", "conversation_id", c1, 0, 10}).total == 1);
  auto read = s.get_run("r1");
  REQUIRE(read);
  CHECK(read->status == run_status::complete);
  CHECK(read->last_seq == 6);
  CHECK(live_ids().empty());
}

TEMPLATE_TEST_CASE("stores: ev_drop drops the logs of the conversation's "
                   "finished runs only",
                   "[store][shared]", memory_backend, redis_backend) {
  store_fixture<TestType> s;
  REQUIRE(s.put_run(run_of("done1", c1)));
  REQUIRE(s.add_events("done1", events_of("done1", 1, 3)));
  REQUIRE(s.finish(run_of("done1", c1, run_status::complete),
                   {event_of("done1", 4, "end", true)}, {}));
  REQUIRE(s.put_run(run_of("done2", c1, run_status::cancelled)));
  REQUIRE(s.add_events("done2", events_of("done2", 1, 2)));
  REQUIRE(s.put_run(run_of("live", c1, run_status::running)));
  REQUIRE(s.add_events("live", events_of("live", 1, 2)));
  REQUIRE(s.put_run(run_of("nolog", c1, run_status::failed)));
  REQUIRE(s.put_run(run_of("other", c2, run_status::complete)));
  REQUIRE(s.add_events("other", events_of("other", 1, 2)));
  // A run that moved to c2 is no longer c1's.
  REQUIRE(s.put_run(run_of("moved", c1, run_status::complete)));
  REQUIRE(s.add_events("moved", events_of("moved", 1, 1)));
  REQUIRE(s.put_run(run_of("moved", c2, run_status::complete)));
  auto dropped = s.drop(c1);
  REQUIRE(dropped);
  CHECK(*dropped == 2);
  CHECK(s.events("done1").empty());
  CHECK(s.events("done2").empty());
  CHECK(s.events("live").size() == 2);
  CHECK(s.events("other").size() == 2);
  CHECK(s.events("moved").size() == 1);
  CHECK(s.get_run("done1")); // the record stays
  CHECK(*s.drop(c1) == 0);
  CHECK(*s.drop(c2) == 2);
  CHECK(*s.drop("unknown") == 0);
}

TEMPLATE_TEST_CASE("stores: a run finished without events still has a log "
                   "to drop",
                   "[store][shared]", memory_backend, redis_backend) {
  store_fixture<TestType> s;
  REQUIRE(s.finish(run_of("r1", c1, run_status::cancelled), {}, {}));
  CHECK(s.events("r1").empty());
  CHECK(*s.drop(c1) == 1);
  CHECK(*s.drop(c1) == 0);
  // Events after an empty batch are stored as usual.
  REQUIRE(s.add_events("r2", {}));
  REQUIRE(s.add_events("r2", events_of("r2", 1, 2)));
  CHECK(s.events("r2").size() == 2);
}
