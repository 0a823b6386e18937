// Untrusted input on the chat channel: every bad frame gets an `error`
// frame naming what was wrong, and the connection keeps working.
#include <catch2/catch.hpp>

#include "server_process.hpp"
#include "test_support.hpp"
#include "ws_client.hpp"

using namespace parley::test;

namespace {

/// `depth` nested arrays around 0, e.g. depth 2: `[[0]]`.
std::string nested_arrays(size_t depth) {
  return std::string(depth, '[') + "0" + std::string(depth, ']');
}

/// A ping whose whole frame nests `depth` levels (frame, payload, arrays).
std::string ping_nested(size_t depth) {
  return R"({"type":"ping","payload":{"timestamp":)" + nested_arrays(depth - 2)
         + "}}";
}

struct expected_error {
  const char* code;
  const char* type;  ///< "" when the error names no frame type
  const char* field; ///< "" when it names no field
};

void check_error(const ws_frame& reply, const expected_error& expected) {
  INFO("reply: " << reply.describe());
  REQUIRE(reply.type() == "error");
  CHECK(reply.str("code") == expected.code);
  CHECK_FALSE(reply.str("message").empty());
  // A connection error is no run event.
  CHECK_FALSE(reply.has("chat_session_id"));
  CHECK_FALSE(reply.has("seq"));
  if (*expected.type)
    CHECK(reply.str("type") == expected.type);
  else
    CHECK_FALSE(reply.has("type"));
  if (*expected.field)
    CHECK(reply.str("field") == expected.field);
  else
    CHECK_FALSE(reply.has("field"));
}

} // namespace

TEST_CASE("bad frames get error frames and the connection still chats",
          "[integration]") {
  server_process srv{{"--token-interval-ms", "1"}};
  ws_client ws{srv.port()};
  ws.read_greeting();
  struct bad_frame {
    std::string text;
    expected_error expected;
  };
  std::vector<bad_frame> cases{
    {R"({"type":"chat","payload":{"message":)", {"bad_json", "", ""}},
    {"not json at all", {"bad_json", "", ""}},
    {"", {"bad_json", "", ""}},
    {R"({"type":"ping"} trailing)", {"bad_json", "", ""}},
    {R"([{"type":"ping"}])", {"bad_json", "", ""}},
    {ping_nested(100), {"bad_json", "", ""}},
    {R"({"type":"chatt","payload":{}})", {"unknown_type", "chatt", "type"}},
    {R"({"payload":{"message":"hi"}})", {"invalid_field", "", "type"}},
    {R"({"type":"chat","payload":{"message":42}})",
     {"invalid_field", "chat", "message"}},
    {R"({"type":"chat","payload":{"message":"  "}})",
     {"invalid_field", "chat", "message"}},
    {R"({"type":"chat","payload":{"message":"hi","enable_reasoning":"yes"}})",
     {"invalid_field", "chat", "enable_reasoning"}},
    {R"({"type":"chat","payload":"What is 1+1?"})",
     {"invalid_field", "chat", "payload"}},
    {R"({"type":"subscribe","payload":{"chat_session_id":"r","last_seq":-1}})",
     {"invalid_field", "subscribe", "last_seq"}},
    {R"({"type":"subscribe","payload":{}})",
     {"invalid_field", "subscribe", "conversation_id"}},
  };
  for (const auto& bad : cases) {
    INFO("sent: " << bad.text.substr(0, 120));
    ws.send_text(bad.text);
    check_error(ws.read_frame(), bad.expected);
  }
  ws.send_binary(R"({"type":"ping","payload":{"timestamp":1}})");
  check_error(ws.read_frame(), {"unsupported_frame", "", ""});

  // After all of that, the same connection answers a question.
  ws.send_text(chat_frame(question));
  auto frames = ws.read_until("done");
  auto run = frames_of_run(frames, frames.back().run_id());
  REQUIRE(run.size() == frames.size());
  check_answered_63(run);
  check_clean_exit(srv, {&ws});
}

TEST_CASE("a frame nesting 64 levels is accepted and one nesting 65 is "
          "bad_json",
          "[integration]") {
  server_process srv;
  ws_client ws{srv.port()};
  ws.read_greeting();
  ws.send_text(ping_nested(64));
  auto accepted = ws.read_frame();
  REQUIRE(accepted.type() == "pong");
  CHECK(to_json(accepted.at("timestamp")) == nested_arrays(62));
  ws.send_text(ping_nested(65));
  check_error(ws.read_frame(), {"bad_json", "", ""});
  // Brackets inside strings do not count.
  ws.send_text(R"({"type":"ping","payload":{"timestamp":")"
               + std::string(200, '[') + "\"}}");
  CHECK(ws.read_frame().type() == "pong");
}

TEST_CASE("a chat for an unknown agent ends its run with a not_found error "
          "event",
          "[integration]") {
  server_process srv;
  ws_client ws{srv.port()};
  ws.read_greeting();
  ws.send_text(chat_frame(question, R"("agent_name":"poet")"));
  auto frames = ws.read_until("error");
  auto run = frames_of_run(frames, frames.back().run_id());
  REQUIRE(run.size() == frames.size());
  CHECK(types_of(run)
        == std::vector<std::string>{"chat_session_start", "error"});
  check_contiguous_seqs(run);
  CHECK(run.back()->str("code") == "not_found");
  CHECK(run.back()->str("message").find("poet") != std::string::npos);
  // The connection goes on, with its default agent.
  ws.send_text(chat_frame(question));
  auto next = ws.read_until("done");
  check_answered_63(frames_of_run(next, next.back().run_id()));
}

TEST_CASE("text a client escaped into JSON comes back as valid UTF-8, so the "
          "connection survives",
          "[integration]") {
  // "\udc00" is a lone low surrogate: valid JSON syntax, but no character.
  // Whatever the server makes of it (an error frame, a replacement
  // character), a text frame it sends must be UTF-8 (RFC 6455 8.1), or the
  // client has to fail the connection with 1007.
  server_process srv{{"--token-interval-ms", "1"}};
  ws_client ws{srv.port()};
  ws.read_greeting();
  SECTION("in a ping's timestamp") {
    ws.send_text(R"({"type":"ping","payload":{"timestamp":"\udc00"}})");
    auto reply = ws.read_frame();
    INFO("reply: " << reply.describe());
    REQUIRE(reply.what == ws_frame::kind::text);
  }
  SECTION("in a chat message, which the run's reasoning_start echoes") {
    ws.send_text(
      R"({"type":"chat","payload":{"message":"What is 1+1? \udc00"}})");
    std::vector<ws_frame> frames;
    REQUIRE_NOTHROW(frames = ws.read_until([](const ws_frame& f) {
      auto type = f.type();
      return type == "done" || (type == "error" && f.run_id().empty());
    }));
  }
  std::vector<ws_frame> after;
  REQUIRE_NOTHROW(after = ws.read_until_fence());
}
