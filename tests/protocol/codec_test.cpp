// Decoding client frames: every frame type, its synonyms and defaults, and
// every way untrusted input can be wrong (each must become a decode_error
// with the documented code and field, never a crash).
#include <string>
#include <string_view>
#include <variant>

#include <catch2/catch.hpp>

#include "protocol/codec.hpp"
#include "protocol/utf8.hpp"

using namespace parley;

namespace {

template<class T>
T decode_as(std::string_view text) {
  auto frame = decode_client_frame(text);
  if (auto* err = std::get_if<decode_error>(&frame))
    FAIL("unexpected decode_error " << to_string(err->code) << ": "
                                    << err->message);
  REQUIRE(std::holds_alternative<T>(frame));
  return std::get<T>(frame);
}

decode_error decode_failure(std::string_view text) {
  auto frame = decode_client_frame(text);
  REQUIRE(std::holds_alternative<decode_error>(frame));
  return std::get<decode_error>(frame);
}

/// A chat frame whose `extra` member nests `depth - 1` arrays below the
/// top-level object, so the whole document is exactly `depth` levels deep.
std::string chat_nested(int depth) {
  std::string extra = std::string(depth - 1, '[') + std::string(depth - 1, ']');
  return R"({"type":"chat","payload":{"message":"hi"},"extra":)" + extra + "}";
}

} // namespace

// -- chat
// ----------------------------------------------------------------------

TEST_CASE("numbers beyond a double are refused, not echoed half-written",
          "[codec]") {
  // RapidJSON reads 10e308 as infinity and then cannot write it back
  // (found by tests/fuzz/frame_codec_fuzz.cpp).
  auto err = decode_failure(R"({"type":"ping","data":{"timestamp":[10e308]}})");
  CHECK(err.code == error_code::bad_json);
  CHECK(err.message.find("too large") != std::string::npos);
}

TEST_CASE("a chat frame decodes every field of its payload", "[codec]") {
  auto req = decode_as<chat_request>(R"({"type":"chat","payload":{
    "message":"What is (17+4)*3?","agent_name":"researcher",
    "conversation_id":"conv-1","client_msg_id":"m-1",
    "enable_reasoning":false,"cancel_on_disconnect":true}})");
  CHECK(req.message == "What is (17+4)*3?");
  CHECK(req.agent_name == "researcher");
  CHECK(req.conversation_id == "conv-1");
  CHECK(req.client_msg_id == "m-1");
  CHECK_FALSE(req.enable_reasoning);
  CHECK(req.cancel_on_disconnect);
}

TEST_CASE("a chat frame may carry its fields under data instead of payload",
          "[codec]") {
  auto req = decode_as<chat_request>(
    R"({"type":"chat","data":{"message":"hello","agent_name":"researcher"}})");
  CHECK(req.message == "hello");
  CHECK(req.agent_name == "researcher");
}

TEST_CASE("payload wins when a frame has both payload and data", "[codec]") {
  auto req = decode_as<chat_request>(
    R"({"type":"chat","payload":{"message":"from payload"},
        "data":{"message":"from data"}})");
  CHECK(req.message == "from payload");
}

TEST_CASE("a null payload falls back to data", "[codec]") {
  auto req = decode_as<chat_request>(
    R"({"type":"chat","payload":null,"data":{"message":"from data"}})");
  CHECK(req.message == "from data");
}

TEST_CASE("a chat frame's optional fields take their defaults", "[codec]") {
  auto req
    = decode_as<chat_request>(R"({"type":"chat","payload":{"message":"x"}})");
  CHECK(req.message == "x");
  CHECK(req.agent_name.empty());
  CHECK(req.conversation_id.empty());
  CHECK(req.client_msg_id.empty());
  CHECK(req.enable_reasoning);
  CHECK_FALSE(req.cancel_on_disconnect);
}

TEST_CASE("null counts as an absent chat field", "[codec]") {
  auto req = decode_as<chat_request>(R"({"type":"chat","payload":{
    "message":"x","agent_name":null,"enable_reasoning":null,
    "cancel_on_disconnect":null}})");
  CHECK(req.agent_name.empty());
  CHECK(req.enable_reasoning);
  CHECK_FALSE(req.cancel_on_disconnect);
}

TEST_CASE("a chat message keeps escapes, unicode and embedded NUL", "[codec]") {
  auto req = decode_as<chat_request>(
    R"({"type":"chat","payload":{"message":"a\"b\\c\nd\u00e9\u0000z \ud83d\ude00"}})");
  static constexpr char expected[] = "a\"b\\c\nd\xC3\xA9\0z \xF0\x9F\x98\x80";
  CHECK(req.message == std::string(expected, sizeof(expected) - 1));
}

TEST_CASE("unknown members of a frame are ignored", "[codec]") {
  auto req = decode_as<chat_request>(
    R"({"type":"chat","id":7,"payload":{"message":"x","temperature":0.5}})");
  CHECK(req.message == "x");
}

// -- ping, cancel, interrupt, subscribe
// ------------------------------------------

TEST_CASE("a ping keeps its timestamp as JSON text", "[codec]") {
  CHECK(decode_as<ping_request>(
          R"({"type":"ping","payload":{"timestamp":1712345678901}})")
          .timestamp_json
        == "1712345678901");
  CHECK(decode_as<ping_request>(R"({"type":"ping","data":{"timestamp":"t-1"}})")
          .timestamp_json
        == R"("t-1")");
  CHECK(decode_as<ping_request>(
          R"({"type":"ping","payload":{"timestamp":{"a":[1, 2],"b":null}}})")
          .timestamp_json
        == R"({"a":[1,2],"b":null})");
}

TEST_CASE("a ping without a timestamp echoes null", "[codec]") {
  CHECK(decode_as<ping_request>(R"({"type":"ping"})").timestamp_json == "null");
  CHECK(
    decode_as<ping_request>(R"({"type":"ping","payload":{}})").timestamp_json
    == "null");
}

TEST_CASE("a cancel names its run by chat_session_id", "[codec]") {
  CHECK(decode_as<cancel_request>(
          R"({"type":"cancel","payload":{"chat_session_id":"run-1"}})")
          .id
        == "run-1");
}

TEST_CASE("a cancel may name a client_msg_id instead", "[codec]") {
  CHECK(decode_as<cancel_request>(
          R"({"type":"cancel","data":{"client_msg_id":"m-9"}})")
          .id
        == "m-9");
}

TEST_CASE("a cancel may name its run with a top-level session_id", "[codec]") {
  CHECK(
    decode_as<cancel_request>(R"({"type":"cancel","session_id":"run-2"})").id
    == "run-2");
}

TEST_CASE("a cancel prefers chat_session_id, then client_msg_id, then "
          "session_id",
          "[codec]") {
  CHECK(decode_as<cancel_request>(R"({"type":"cancel","session_id":"s",
          "payload":{"chat_session_id":"c","client_msg_id":"m"}})")
          .id
        == "c");
  CHECK(decode_as<cancel_request>(R"({"type":"cancel","session_id":"s",
          "payload":{"client_msg_id":"m"}})")
          .id
        == "m");
}

TEST_CASE("a cancel without an id means the connection's current run",
          "[codec]") {
  CHECK(decode_as<cancel_request>(R"({"type":"cancel"})").id.empty());
  CHECK(
    decode_as<cancel_request>(R"({"type":"cancel","payload":{}})").id.empty());
}

TEST_CASE("an interrupt decodes with or without a payload", "[codec]") {
  decode_as<interrupt_request>(R"({"type":"interrupt"})");
  decode_as<interrupt_request>(R"({"type":"interrupt","payload":{"x":1}})");
}

TEST_CASE("a subscribe follows a conversation or one run", "[codec]") {
  auto conv = decode_as<subscribe_request>(
    R"({"type":"subscribe","payload":{"conversation_id":"conv-1","last_seq":7}})");
  CHECK(conv.conversation_id == "conv-1");
  CHECK(conv.chat_session_id.empty());
  CHECK(conv.last_seq == 7);
  auto run = decode_as<subscribe_request>(
    R"({"type":"subscribe","data":{"chat_session_id":"run-1"}})");
  CHECK(run.chat_session_id == "run-1");
  CHECK(run.conversation_id.empty());
  CHECK(run.last_seq == 0);
}

TEST_CASE("a subscribe accepts the largest last_seq", "[codec]") {
  CHECK(decode_as<subscribe_request>(R"({"type":"subscribe","payload":{
          "chat_session_id":"r","last_seq":18446744073709551615}})")
          .last_seq
        == UINT64_MAX);
}

TEST_CASE("a subscribe needs exactly one of conversation_id and "
          "chat_session_id",
          "[codec]") {
  for (auto text : {R"({"type":"subscribe"})",
                    R"({"type":"subscribe","payload":{"last_seq":1}})",
                    R"({"type":"subscribe","payload":{"conversation_id":"c",
                        "chat_session_id":"r"}})"}) {
    INFO(text);
    auto err = decode_failure(text);
    CHECK(err.code == error_code::invalid_field);
    CHECK(err.type == "subscribe");
    CHECK(err.field == "conversation_id");
  }
}

TEST_CASE("a subscribe's last_seq must be a non-negative integer", "[codec]") {
  for (auto seq : {"-1", "1.5", "\"3\"", "true", "[]"}) {
    INFO(seq);
    auto err = decode_failure(
      std::string{
        R"({"type":"subscribe","payload":{"conversation_id":"c","last_seq":)"}
      + seq + "}}");
    CHECK(err.code == error_code::invalid_field);
    CHECK(err.field == "last_seq");
  }
}

// -- malformed input
// ----------------------------------------------------------------

TEST_CASE("text that is not JSON is bad_json", "[codec][malformed]") {
  for (auto text :
       {"", "   ", "{", "{\"type\":\"chat\"", "not json", "{'type':'chat'}",
        "{\"type\":\"chat\",}", "{\"type\":\"ping\"} trailing",
        "{\"type\":\"ping\"}{\"type\":\"ping\"}", "\xFF",
        R"({"type":"chat","payload":{"message":"\ud800"}})",
        R"({"type":"chat","payload":{"message":"\q"}})",
        R"({"type":"ping","payload":{"timestamp":1e400}})",
        R"({"type":"ping","payload":{"timestamp":NaN}})"}) {
    INFO(text);
    auto err = decode_failure(text);
    CHECK(err.code == error_code::bad_json);
    CHECK_FALSE(err.message.empty());
    CHECK(err.field.empty());
  }
}

TEST_CASE("a malformed frame's message says where parsing stopped",
          "[codec][malformed]") {
  auto err = decode_failure(R"({"type": oops})");
  CHECK(err.code == error_code::bad_json);
  CHECK_THAT(err.message, Catch::Contains("offset 9"));
}

TEST_CASE("JSON that is not an object is bad_json", "[codec][malformed]") {
  for (auto text : {"[]", R"(["chat"])", R"("chat")", "42", "null", "true"}) {
    INFO(text);
    auto err = decode_failure(text);
    CHECK(err.code == error_code::bad_json);
    CHECK_THAT(err.message, Catch::Contains("object"));
  }
}

TEST_CASE("a frame without a string type is invalid_field 'type'",
          "[codec][malformed]") {
  for (auto text : {"{}", R"({"payload":{"message":"x"}})", R"({"type":null})",
                    R"({"type":7})", R"({"type":["chat"]})"}) {
    INFO(text);
    auto err = decode_failure(text);
    CHECK(err.code == error_code::invalid_field);
    CHECK(err.field == "type");
    CHECK(err.type.empty());
  }
}

TEST_CASE("an unknown type is unknown_type and names the type",
          "[codec][malformed]") {
  for (auto type : {"chatt", "Chat", "PING", "", "pong", "connected"}) {
    INFO(type);
    auto err = decode_failure(std::string{R"({"type":")"} + type + "\"}");
    CHECK(err.code == error_code::unknown_type);
    CHECK(err.type == type);
    CHECK(err.field == "type");
  }
}

TEST_CASE("a payload that is not an object is invalid_field",
          "[codec][malformed]") {
  auto err = decode_failure(R"({"type":"chat","payload":"hello"})");
  CHECK(err.code == error_code::invalid_field);
  CHECK(err.type == "chat");
  CHECK(err.field == "payload");
  err = decode_failure(R"({"type":"ping","data":[1]})");
  CHECK(err.code == error_code::invalid_field);
  CHECK(err.type == "ping");
  CHECK(err.field == "data");
}

TEST_CASE("a wrong-typed field is invalid_field and names the field",
          "[codec][malformed]") {
  struct bad_case {
    const char* text;
    const char* type;
    const char* field;
  };
  const bad_case cases[] = {
    {R"({"type":"chat","payload":{"message":42}})", "chat", "message"},
    {R"({"type":"chat","payload":{"message":["x"]}})", "chat", "message"},
    {R"({"type":"chat","payload":{"message":"x","agent_name":1}})", "chat",
     "agent_name"},
    {R"({"type":"chat","payload":{"message":"x","conversation_id":{}}})",
     "chat", "conversation_id"},
    {R"({"type":"chat","payload":{"message":"x","client_msg_id":false}})",
     "chat", "client_msg_id"},
    {R"({"type":"chat","payload":{"message":"x","enable_reasoning":"yes"}})",
     "chat", "enable_reasoning"},
    {R"({"type":"chat","payload":{"message":"x","cancel_on_disconnect":1}})",
     "chat", "cancel_on_disconnect"},
    {R"({"type":"cancel","payload":{"chat_session_id":5}})", "cancel",
     "chat_session_id"},
    {R"({"type":"cancel","payload":{"client_msg_id":[]}})", "cancel",
     "client_msg_id"},
    {R"({"type":"cancel","session_id":{}})", "cancel", "session_id"},
    {R"({"type":"subscribe","payload":{"conversation_id":3}})", "subscribe",
     "conversation_id"},
    {R"({"type":"subscribe","payload":{"chat_session_id":true}})", "subscribe",
     "chat_session_id"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto err = decode_failure(c.text);
    CHECK(err.code == error_code::invalid_field);
    CHECK(err.type == c.type);
    CHECK(err.field == c.field);
    CHECK_THAT(err.message, Catch::Contains(c.field));
  }
}

TEST_CASE("a chat without a message is invalid_field 'message'",
          "[codec][malformed]") {
  for (auto text : {R"({"type":"chat"})", R"({"type":"chat","payload":{}})",
                    R"({"type":"chat","payload":{"message":null}})",
                    R"({"type":"chat","payload":{"message":""}})",
                    R"({"type":"chat","payload":{"message":" \t\r\n "}})"}) {
    INFO(text);
    auto err = decode_failure(text);
    CHECK(err.code == error_code::invalid_field);
    CHECK(err.type == "chat");
    CHECK(err.field == "message");
  }
}

// -- nesting depth
// ---------------------------------------------------------------------

TEST_CASE("exceeds_depth counts arrays and objects, not brackets in strings",
          "[codec][depth]") {
  CHECK_FALSE(exceeds_depth("", 0));
  CHECK_FALSE(exceeds_depth("42", 0));
  CHECK(exceeds_depth("[]", 0));
  CHECK_FALSE(exceeds_depth("[[]]", 2));
  CHECK(exceeds_depth("[[[]]]", 2));
  CHECK_FALSE(exceeds_depth("[[],[],{}]", 2)); // siblings do not add up
  CHECK_FALSE(exceeds_depth(R"({"a":"[[[[{{{{"})", 1));
  CHECK_FALSE(exceeds_depth(R"({"a":"\"[[[["})", 1)); // escaped quote
  CHECK_FALSE(exceeds_depth(R"({"a":"\\"})", 1));     // escaped backslash
  CHECK(exceeds_depth(R"({"a":"\\","b":[]})", 1));    // string really ended
}

TEST_CASE("a frame nested exactly max_json_depth deep is accepted",
          "[codec][depth]") {
  REQUIRE(max_json_depth == 64);
  auto text = chat_nested(max_json_depth);
  REQUIRE_FALSE(exceeds_depth(text, max_json_depth));
  CHECK(decode_as<chat_request>(text).message == "hi");
}

TEST_CASE("a frame nested one level deeper than max_json_depth is bad_json",
          "[codec][depth]") {
  auto err = decode_failure(chat_nested(max_json_depth + 1));
  CHECK(err.code == error_code::bad_json);
  CHECK_THAT(err.message, Catch::Contains("64"));
}

TEST_CASE("hostile nesting is refused without recursing", "[codec][depth]") {
  for (auto open : {'[', '{'}) {
    std::string text(100000, open);
    CHECK(decode_failure(text).code == error_code::bad_json);
  }
  std::string objects;
  for (int i = 0; i < 100000; ++i)
    objects += R"({"a":)";
  CHECK(decode_failure(objects).code == error_code::bad_json);
}

TEST_CASE("brackets inside a long string do not count as nesting",
          "[codec][depth]") {
  auto message = std::string(100000, '[');
  auto req = decode_as<chat_request>(R"({"type":"chat","payload":{"message":")"
                                     + message + "\"}}");
  CHECK(req.message == message);
}

TEST_CASE("every error code has its wire name", "[codec]") {
  CHECK(to_string(error_code::bad_json) == "bad_json");
  CHECK(to_string(error_code::unknown_type) == "unknown_type");
  CHECK(to_string(error_code::invalid_field) == "invalid_field");
  CHECK(to_string(error_code::unsupported_frame) == "unsupported_frame");
  CHECK(to_string(error_code::not_found) == "not_found");
  CHECK(to_string(error_code::conflict) == "conflict");
  CHECK(to_string(error_code::storage_unavailable) == "storage_unavailable");
  CHECK(to_string(error_code::internal) == "internal");
}

TEST_CASE("strings that escape to invalid UTF-8 are bad_json",
          "[protocol][decode][utf8]") {
  // A lone low surrogate: RapidJSON decodes it to bytes no WebSocket peer
  // accepts, so echoing it back (pong, reasoning_start) would kill the link.
  for (auto text :
       {R"({"type":"ping","payload":{"timestamp":"\udc00"}})",
        R"({"type":"chat","payload":{"message":"hi \udc00"}})",
        R"({"type":"chat","payload":{"message":"hi","\udfff":1}})"}) {
    auto frame = decode_client_frame(text);
    REQUIRE(std::holds_alternative<decode_error>(frame));
    CHECK(std::get<decode_error>(frame).code == error_code::bad_json);
  }
  // A proper surrogate pair is fine.
  auto ok = decode_client_frame(
    R"({"type":"chat","payload":{"message":"emoji \ud83d\ude00"}})");
  REQUIRE(std::holds_alternative<chat_request>(ok));
  CHECK(std::get<chat_request>(ok).message == "emoji \xF0\x9F\x98\x80");
}

TEST_CASE("is_valid_utf8 is strict", "[protocol][utf8]") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain ascii"));
  CHECK(is_valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  CHECK_FALSE(is_valid_utf8("\xFF"));
  CHECK_FALSE(is_valid_utf8("\xC3"));             // truncated
  CHECK_FALSE(is_valid_utf8("\xC0\xAF"));         // overlong '/'
  CHECK_FALSE(is_valid_utf8("\xED\xB0\x80"));     // U+DC00, a surrogate
  CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80")); // past U+10FFFF
}
