// What only the Redis store has to show: durability across store instances,
// the key layout of docs/storage.md, writes that fail leaving no key
// changed, one round trip per event batch, and the behaviour while Redis is
// down, hung or has lost its scripts.
#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include <catch2/catch.hpp>
#include <hiredis/hiredis.h>

#include "storage/redis_connection.hpp"
#include "storage/redis_ops.hpp"

#include "tests/storage/store_fixture.hpp"

using namespace parley;
using namespace parley::testing;
using namespace std::chrono_literals;

namespace {

using redis_fixture = store_fixture<redis_backend>;
using clock_type = std::chrono::steady_clock;

const std::string p1 = "00000000-0000-4000-8000-000000000001";
const std::string c1 = "00000000-0000-4000-8000-000000000002";
const std::string m1 = "00000000-0000-4000-8000-000000000003";
const std::string m2 = "00000000-0000-4000-8000-000000000004";

std::string conversation_of(const std::string& persona) {
  return R"({"persona_id":")" + persona + R"("})";
}

std::string message_in(const std::string& conv, const std::string& text) {
  return R"({"conversation_id":")" + conv + R"(","role":"user","content":")"
         + text + R"("})";
}

std::string str(const redisReply& r) {
  return std::string{r.str, r.len};
}

/// Runs one command on its own connection; REQUIREs an answer.
reply_ptr command(redis_connection& conn, const redis_command& cmd) {
  auto reply = conn.call(cmd);
  REQUIRE(reply);
  return std::move(*reply);
}

std::vector<std::string> keys(redis_connection& conn,
                              const std::string& pattern) {
  auto r = command(conn, {"KEYS", pattern});
  std::vector<std::string> out;
  for (size_t i = 0; i < r->elements; ++i)
    out.push_back(str(*r->element[i]));
  std::sort(out.begin(), out.end());
  return out;
}

/// The words of a reply, flattened (nested arrays included).
void flatten(const redisReply& r, std::vector<std::string>& out) {
  if (r.type == REDIS_REPLY_ARRAY) {
    for (size_t i = 0; i < r.elements; ++i)
      flatten(*r.element[i], out);
  } else if (r.type == REDIS_REPLY_INTEGER) {
    out.push_back(std::to_string(r.integer));
  } else if (r.str != nullptr) {
    out.emplace_back(r.str, r.len);
  }
}

/// Every key with its type and contents (DUMP would not do: a hash's field
/// order may change on a mere read).
std::map<std::string, std::vector<std::string>>
snapshot(redis_connection& conn) {
  std::map<std::string, std::vector<std::string>> out;
  for (auto& key : keys(conn, "*")) {
    auto type = str(*command(conn, {"TYPE", key}));
    redis_command read{"GET", key};
    if (type == "hash")
      read = {"HGETALL", key};
    else if (type == "zset")
      read = {"ZRANGE", key, "0", "-1", "WITHSCORES"};
    else if (type == "set")
      read = {"SMEMBERS", key};
    else if (type == "stream")
      read = {"XRANGE", key, "-", "+"};
    std::vector<std::string> words;
    flatten(*command(conn, read), words);
    if (type == "set") {
      std::sort(words.begin(), words.end());
    } else if (type == "hash") { // sorted by field, pairs kept together
      std::vector<std::pair<std::string, std::string>> pairs;
      for (size_t i = 0; i + 1 < words.size(); i += 2)
        pairs.emplace_back(words[i], words[i + 1]);
      std::sort(pairs.begin(), pairs.end());
      words.clear();
      for (auto& [field, value] : pairs) {
        words.push_back(field);
        words.push_back(value);
      }
    }
    words.insert(words.begin(), type);
    out[key] = std::move(words);
  }
  return out;
}

/// `calls` of one command in INFO commandstats, 0 if it never ran.
uint64_t calls_of(redis_connection& conn, const std::string& cmd) {
  auto info = str(*command(conn, {"INFO", "commandstats"}));
  auto tag = "cmdstat_" + cmd + ":calls=";
  auto at = info.find(tag);
  if (at == std::string::npos)
    return 0;
  return std::stoull(info.substr(at + tag.size()));
}

/// A number of INFO stats, e.g. total_reads_processed (one per read event,
/// so one per round trip of a client that waits for its replies).
uint64_t stat_of(redis_connection& conn, const std::string& name) {
  auto info = str(*command(conn, {"INFO", "stats"}));
  auto tag = name + ":";
  auto at = info.find(tag);
  REQUIRE(at != std::string::npos);
  return std::stoull(info.substr(at + tag.size()));
}

template<class T>
caf::error error_of(const caf::expected<T>& x) {
  return x ? caf::error{} : x.error();
}

bool unavailable(const caf::error& err) {
  return err.category() == error_category
         && to_error_code(err) == error_code::storage_unavailable;
}

/// Writes a persona, a conversation, a message and a finished run with its
/// events.
void fill(redis_fixture& s) {
  REQUIRE(s.put("personas", p1, R"({"name":"Ada"})"));
  REQUIRE(s.put("modules", p1, R"({"name":"greet"})"));
  REQUIRE(s.put("conversations", c1, conversation_of(p1)));
  REQUIRE(s.put("messages", m1, message_in(c1, "question")));
  REQUIRE(s.put_run(run_of("r1", c1)));
  REQUIRE(s.add_events("r1", events_of("r1", 1, 3)));
  REQUIRE(s.finish(
    run_of("r1", c1, run_status::complete), {event_of("r1", 4, "end", true)},
    {message_record{m2, c1, "assistant", "answer", "", 1, "r1", "", 9}}));
}

} // namespace

TEST_CASE("redis urls name host, port and db; anything else is refused",
          "[store][redis][url]") {
  auto full = parse_redis_url("redis://cache.internal:6380/3");
  REQUIRE(full);
  CHECK(full->host == "cache.internal");
  CHECK(full->port == 6380);
  CHECK(full->db == 3);
  auto bare = parse_redis_url("redis://localhost");
  REQUIRE(bare);
  CHECK(bare->host == "localhost");
  CHECK(bare->port == 6379);
  CHECK(bare->db == 0);
  auto slash = parse_redis_url("redis://10.0.0.7:7000/");
  REQUIRE(slash);
  CHECK(slash->port == 7000);
  CHECK(slash->db == 0);
  auto v6 = parse_redis_url("redis://[::1]:6390/1");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->port == 6390);
  CHECK(v6->db == 1);
  for (auto bad :
       {"", "localhost:6379", "http://h:1/0", "redis://", "redis://:6379",
        "redis://h:", "redis://h:0", "redis://h:65536", "redis://h:12x",
        "redis://h/x", "redis://h/-1", "redis://user:pw@h", "redis://h/0?x=1",
        "redis://[::1", "redis://[::1]x", "redis://h:1:2"})
    CHECK_FALSE(parse_redis_url(bad));
}

TEST_CASE_METHOD(redis_fixture,
                 "redis store: a second store on the same Redis sees "
                 "everything the first wrote",
                 "[store][redis]") {
  fill(*this);
  self->send_exit(store, caf::exit_reason::user_shutdown);
  store = spawn_redis_store(sys, config());
  CHECK(get("personas", p1));
  auto msgs = list({"messages", "conversation_id", c1, 0, 10});
  REQUIRE(msgs.total == 2);
  CHECK(msgs.items[0].id == m1);
  CHECK(msgs.items[1].id == m2);
  auto rec = get_run("r1");
  REQUIRE(rec);
  CHECK(rec->status == run_status::complete);
  CHECK(seqs_of(events("r1")) == std::vector<uint64_t>{1, 2, 3, 4});
  // Unique values, references and order carry over too.
  auto clash = put("modules", c1, R"({"name":"greet"})");
  REQUIRE_FALSE(clash);
  CHECK(to_error_code(clash.error()) == error_code::conflict);
  CHECK_FALSE(remove("personas", p1));
  auto m3 = "00000000-0000-4000-8000-000000000009";
  REQUIRE(put("messages", m3, message_in(c1, "later")));
  auto all = list({"messages", {}, {}, 0, 10});
  REQUIRE(all.items.size() == 3);
  CHECK(all.items[2].id == m3);
}

TEST_CASE_METHOD(redis_fixture,
                 "redis store: a refused write or delete changes no key",
                 "[store][redis]") {
  fill(*this);
  redis_connection conn{config()};
  auto before = snapshot(conn);
  CHECK_FALSE(put("personas", p1, R"({"name":"Again"})"));
  CHECK_FALSE(put("personas", c1, R"({"name":"X"})", put_mode::replace));
  CHECK_FALSE(put("conversations", m1, conversation_of(c1)));
  auto other = "00000000-0000-4000-8000-00000000000b";
  CHECK_FALSE(put("modules", other, R"({"name":"greet","is_active":false})"));
  CHECK_FALSE(remove("personas", p1));
  CHECK_FALSE(remove("conversations", other));
  CHECK(snapshot(conn) == before);
}

TEST_CASE_METHOD(redis_fixture,
                 "redis store: keys follow the layout of docs/storage.md",
                 "[store][redis]") {
  fill(*this);
  REQUIRE(put_run(run_of("r2", c1, run_status::queued)));
  redis_connection conn{config()};
  // Each family of keys and its type, as documented.
  std::vector<std::pair<std::string, std::string>> families{
    {"test:res:", "hash"},    {"test:order:", "zset"},
    {"test:ctr:", "string"},  {"test:idx:", "zset"},
    {"test:uniq:", "string"}, {"test:run:", "hash"},
    {"test:ev:", "stream"},   {"test:conv_runs:", "set"},
    {"test:live_runs", "set"}};
  auto all = keys(conn, "*");
  for (auto& key : all) {
    INFO(key);
    auto family = std::find_if(families.begin(), families.end(), [&](auto& f) {
      return key.rfind(f.first, 0) == 0;
    });
    REQUIRE(family != families.end());
    CHECK(str(*command(conn, {"TYPE", key})) == family->second);
  }
  std::set<std::string> present(all.begin(), all.end());
  for (auto& key : std::vector<std::string>{
         "test:res:personas:" + p1, "test:res:messages:" + m2,
         "test:order:messages", "test:ctr:messages",
         "test:idx:messages:conversation_id:" + c1,
         "test:idx:conversations:persona_id:" + p1,
         "test:idx:personas:is_active:true", "test:uniq:modules:name:greet",
         "test:run:r1", "test:ev:r1", "test:conv_runs:" + c1})
    CHECK(present.count(key) == 1);
  CHECK(str(*command(conn, {"GET", "test:uniq:modules:name:greet"})) == p1);
  // Only r2 is still live; r1's events expire after event_retention.
  CHECK(keys(conn, "test:ev:*") == std::vector<std::string>{"test:ev:r1"});
  auto live = command(conn, {"SMEMBERS", "test:live_runs"});
  REQUIRE(live->elements == 1);
  CHECK(str(*live->element[0]) == "r2");
  auto ttl = command(conn, {"PTTL", "test:ev:r1"})->integer;
  CHECK(ttl > 0);
  CHECK(ttl <= 7 * 24 * 3600 * 1000LL);
  CHECK(str(*command(conn, {"XRANGE", "test:ev:r1", "-", "+", "COUNT", "1"})
               ->element[0]
               ->element[0])
        == "1-1");
}

TEST_CASE_METHOD(redis_fixture,
                 "redis store: stores with different prefixes share a Redis "
                 "without seeing each other",
                 "[store][redis]") {
  fill(*this);
  auto cfg = config();
  cfg.prefix = "other:";
  auto other = adopt(spawn_redis_store(sys, cfg));
  auto page = ask_at<resource_page>(other, res_list_atom::value,
                                    resource_query{"personas", {}, {}, 0, 10});
  REQUIRE(page);
  CHECK(page->total == 0);
  CHECK_FALSE(ask_at<run_record>(other, run_get_atom::value, "r1"));
  auto& spec = *find_kind("modules");
  auto checked = validate(spec.schema, R"({"name":"greet"})");
  auto doc = make_doc(spec, c1, std::get<validated_object>(checked), 1, 1);
  CHECK(ask_at<resource_doc>(other, res_put_atom::value, doc, put_mode::create,
                             std::vector<reference>{}));
  // Another db with the same prefix is as separate.
  cfg = config();
  cfg.db = 1;
  auto elsewhere = adopt(spawn_redis_store(sys, cfg));
  CHECK_FALSE(ask_at<run_record>(elsewhere, run_get_atom::value, "r1"));
  CHECK(ask_at<resource_page>(elsewhere, res_list_atom::value,
                              resource_query{"personas", {}, {}, 0, 10})
          ->total
        == 0);
  CHECK(get_run("r1"));
}

TEST_CASE_METHOD(redis_fixture,
                 "redis store: ping answers while Redis does, and "
                 "storage_unavailable once it is gone",
                 "[store][redis][fault]") {
  redis_connection conn{config()};
  CHECK(redis_ops::ping(conn));
  server.kill();
  auto down = redis_ops::ping(conn);
  REQUIRE_FALSE(down);
  CHECK(unavailable(down.error()));
  server.start();
  CHECK(redis_ops::ping(conn));
}

TEST_CASE_METHOD(redis_fixture,
                 "redis store: one ev_add batch is one round trip, not one "
                 "per event",
                 "[store][redis]") {
  REQUIRE(put_run(run_of("hot", c1)));
  redis_connection conn{config()};
  command(conn, {"CONFIG", "RESETSTAT"});
  for (uint64_t batch = 0; batch < 10; ++batch)
    REQUIRE(
      add_events("hot", events_of("hot", batch * 25 + 1, batch * 25 + 25)));
  CHECK(calls_of(conn, "evalsha") == 10);
  CHECK(calls_of(conn, "xadd") == 250);
  CHECK(calls_of(conn, "xrange") == 0);
  CHECK(events("hot").size() == 250);
  // The same, counted on our side of the socket.
  auto before = conn.round_trips();
  REQUIRE(redis_ops::add_events(conn, "hot", events_of("hot", 251, 378)));
  CHECK(conn.round_trips() - before == 1);
}

TEST_CASE_METHOD(redis_fixture,
                 "redis store: a run opens in one round trip and ends in one",
                 "[store][redis]") {
  redis_connection conn{config()};
  auto question
    = message_doc(message_record{"00000000-0000-4000-8000-0000000000a1",
                                 c1,
                                 "user",
                                 "why?",
                                 {},
                                 0,
                                 "r1",
                                 "",
                                 1000});
  // The first call on a connection connects and loads the scripts.
  REQUIRE(redis_ops::open_run(conn, run_of("warm", c1), {}, {}));
  redis_connection stats{config()};
  command(stats, {"CONFIG", "RESETSTAT"});
  auto before = conn.round_trips();
  REQUIRE(redis_ops::open_run(conn, run_of("r1", c1), {question},
                              events_of("r1", 1, 1)));
  CHECK(conn.round_trips() - before == 1);
  before = conn.round_trips();
  REQUIRE(redis_ops::finish_run(conn, run_of("r1", c1, run_status::complete),
                                events_of("r1", 2, 15), {}));
  CHECK(conn.round_trips() - before == 1);
  CHECK(events("r1").size() == 15);
  CHECK(get_run("r1")->status == run_status::complete);
  // Scripts only for the object that may exist (the question): the events
  // and the record are plain commands.
  CHECK(calls_of(stats, "evalsha") == 1);
  CHECK(calls_of(stats, "xadd") == 15);
  CHECK(calls_of(stats, "hset") == 3); // the question, the record twice
}

TEST_CASE_METHOD(redis_fixture,
                 "redis store: run steps that queue up while Redis is busy "
                 "go out in one round trip, each answered",
                 "[store][redis]") {
  redis_connection stats{config()};
  REQUIRE(put_run(run_of("warm", c1))); // the store's connection is up
  // Redis holds back writes for a while: the first step waits, and the
  // others queue up behind it in the worker's mailbox.
  command(stats, {"CLIENT", "PAUSE", "300", "WRITE"});
  auto reads_before = stat_of(stats, "total_reads_processed");
  constexpr int steps = 50;
  for (int i = 0; i < steps; ++i) {
    auto id = "r" + std::to_string(i);
    self->send(store, run_open_atom::value, run_of(id, c1),
               std::vector<resource_doc>{}, events_of(id, 1, 1));
  }
  int answered = 0;
  int failed = 0;
  self->receive_for(answered, steps)(
    [](caf::ok_atom) {}, [&](caf::error&) { ++failed; },
    caf::after(10s) >> [&] { FAIL("the store did not answer every step"); });
  CHECK(failed == 0);
  // The paused step, then the other 49 together (and this connection's own
  // INFO): far fewer read events than steps.
  auto reads = stat_of(stats, "total_reads_processed") - reads_before;
  CHECK(reads <= 6);
  for (int i = 0; i < steps; ++i) {
    auto id = "r" + std::to_string(i);
    INFO(id);
    CHECK(seqs_of(events(id)) == std::vector<uint64_t>{1});
    CHECK(get_run(id));
  }
}

TEST_CASE_METHOD(redis_fixture,
                 "redis store: a killed Redis answers storage_unavailable "
                 "within io_timeout; after a restart the store recovers",
                 "[store][redis][fault]") {
  fill(*this);
  server.kill();
  auto limit = config().io_timeout + 500ms;
  auto check_down = [&](auto&& request) {
    auto start = clock_type::now();
    caf::error err = request();
    auto took = clock_type::now() - start;
    CHECK(unavailable(err));
    CHECK(took < limit);
  };
  for (int round = 0; round < 3; ++round) {
    check_down([&] { return error_of(get("personas", p1)); });
    check_down(
      [&] { return error_of(put("personas", c1, R"({"name":"B"})")); });
    check_down([&] { return error_of(get_run("r1")); });
    check_down(
      [&] { return error_of(add_events("r1", events_of("r1", 5, 6))); });
    check_down([&] {
      return error_of(finish(run_of("r1", c1, run_status::failed), {}, {}));
    });
    check_down([&] { return error_of(drop(c1)); });
    check_down([&] {
      return error_of(ask<resource_page>(
        res_list_atom::value, resource_query{"personas", {}, {}, 0, 10}));
    });
  }
  server.start();
  // Nothing saved (no persistence): the store must simply work again, by
  // itself, within a few backoff periods.
  auto deadline = clock_type::now() + 5s;
  caf::expected<resource_doc> back{caf::no_error};
  do {
    back = put("personas", p1, R"({"name":"Ada"})");
    if (!back)
      std::this_thread::sleep_for(20ms);
  } while (!back && clock_type::now() < deadline);
  REQUIRE(back);
  // Every connection of the pool recovers, scripts included.
  REQUIRE(put_run(run_of("r9", c1)));
  REQUIRE(add_events("r9", events_of("r9", 1, 2)));
  REQUIRE(finish(run_of("r9", c1, run_status::complete), {}, {}));
  CHECK(events("r9").size() == 2);
  CHECK(list({"personas", {}, {}, 0, 10}).total == 1);
}

TEST_CASE_METHOD(redis_fixture,
                 "redis store: a Redis that stops answering costs each request "
                 "about io_timeout, never a hang",
                 "[store][redis][fault]") {
  fill(*this);
  server.pause();
  // A request on a live connection waits io_timeout for its reply; one that
  // has to connect may wait once more for the scripts to load.
  auto limit = 2 * config().io_timeout + 500ms;
  for (int i = 0; i < 3; ++i) {
    auto start = clock_type::now();
    auto rec = get_run("r1");
    auto took = clock_type::now() - start;
    REQUIRE_FALSE(rec);
    CHECK(unavailable(rec.error()));
    CHECK(took < limit);
  }
  server.resume();
  auto deadline = clock_type::now() + 5s;
  caf::expected<run_record> rec{caf::no_error};
  do {
    rec = get_run("r1");
    if (!rec)
      std::this_thread::sleep_for(20ms);
  } while (!rec && clock_type::now() < deadline);
  REQUIRE(rec);
  CHECK(rec->status == run_status::complete);
  CHECK(get("personas", p1));
}

TEST_CASE_METHOD(
  redis_fixture,
  "redis store: a store whose Redis is not there answers at once",
  "[store][redis][fault]") {
  auto cfg = config();
  server.kill();
  auto lonely = adopt(spawn_redis_store(sys, cfg));
  for (int i = 0; i < 5; ++i) {
    auto start = clock_type::now();
    auto rec = ask_at<run_record>(lonely, run_get_atom::value, "r1");
    REQUIRE_FALSE(rec);
    CHECK(unavailable(rec.error()));
    CHECK(clock_type::now() - start < cfg.io_timeout);
  }
}

TEST_CASE_METHOD(redis_fixture,
                 "redis store: scripts Redis forgot are loaded again",
                 "[store][redis]") {
  fill(*this);
  redis_connection conn{config()};
  command(conn, {"SCRIPT", "FLUSH"});
  auto other = "00000000-0000-4000-8000-00000000000b";
  REQUIRE(put("modules", other, R"({"name":"again"})"));
  command(conn, {"SCRIPT", "FLUSH"});
  // run_fin sends its scripts inside MULTI/EXEC, and runs it again.
  REQUIRE(finish(
    run_of("r1", c1, run_status::complete), {event_of("r1", 5, "late", true)},
    {message_record{other, c1, "assistant", "more", "", 1, "r1", "", 10}}));
  CHECK(seqs_of(events("r1")) == std::vector<uint64_t>{1, 2, 3, 4, 5});
  CHECK(list({"messages", "conversation_id", c1, 0, 10}).total == 3);
}

TEST_CASE_METHOD(redis_fixture,
                 "redis store: live runs are those still queued or running",
                 "[store][redis]") {
  REQUIRE(put_run(run_of("q", c1, run_status::queued)));
  REQUIRE(put_run(run_of("r", c1, run_status::running)));
  REQUIRE(put_run(run_of("c", c1, run_status::complete)));
  REQUIRE(put_run(run_of("f", c1, run_status::running)));
  REQUIRE(finish(run_of("f", c1, run_status::failed), {}, {}));
  redis_connection conn{config()};
  auto live = redis_ops::live_runs(conn);
  REQUIRE(live);
  std::set<std::string> ids;
  for (auto& rec : *live)
    ids.insert(rec.id);
  CHECK(ids == std::set<std::string>{"q", "r"});
  // What parleyd would do at start-up: mark them interrupted.
  for (auto rec : *live) {
    rec.status = run_status::interrupted;
    REQUIRE(put_run(rec));
  }
  live = redis_ops::live_runs(conn);
  REQUIRE(live);
  CHECK(live->empty());
}

TEST_CASE_METHOD(redis_fixture,
                 "redis store: a finished run's events expire after "
                 "event_retention",
                 "[store][redis]") {
  auto cfg = config();
  cfg.event_retention = 1s;
  auto brief = adopt(spawn_redis_store(sys, cfg));
  REQUIRE(ask_at<caf::ok_atom>(brief, ev_add_atom::value, std::string{"r1"},
                               events_of("r1", 1, 3)));
  REQUIRE(ask_at<caf::ok_atom>(
    brief, run_fin_atom::value, run_of("r1", c1, run_status::complete),
    events_of("r1", 4, 4), std::vector<message_record>{}));
  CHECK(events("r1").size() == 4);
  std::this_thread::sleep_for(1200ms);
  CHECK(events("r1").empty());
  CHECK(get_run("r1")); // the record stays
}
