// Encoding server frames: every event kind and every helper frame parses back
// as JSON with exactly the documented `type` and `data` members, and text is
// escaped so that it survives the round trip unchanged.
#include <set>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include "protocol/codec.hpp"

using namespace parley;

namespace {

rapidjson::Document parse(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  INFO(text);
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc.IsObject());
  return doc;
}

/// The `data` object of `doc`, after checking the frame's shape and type.
const rapidjson::Value& data_of(const rapidjson::Document& doc,
                                std::string_view type) {
  REQUIRE(doc.MemberCount() == 2);
  REQUIRE(doc.HasMember("type"));
  REQUIRE(doc["type"].IsString());
  CHECK(doc["type"].GetString() == std::string{type});
  REQUIRE(doc.HasMember("data"));
  REQUIRE(doc["data"].IsObject());
  return doc["data"];
}

std::set<std::string> keys_of(const rapidjson::Value& obj) {
  std::set<std::string> out;
  for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it)
    out.emplace(it->name.GetString(), it->name.GetStringLength());
  return out;
}

std::string str(const rapidjson::Value& obj, const char* key) {
  INFO(key);
  REQUIRE(obj.HasMember(key));
  REQUIRE(obj[key].IsString());
  return {obj[key].GetString(), obj[key].GetStringLength()};
}

run_event make_event(event_kind kind) {
  run_event ev;
  ev.kind = kind;
  ev.chat_session_id = "3f1c2a9e-8d4b-4c1e-9a7f-2b6d5e8c1f00";
  ev.seq = 5;
  ev.time_us = 1795587328123456; // 2026-11-25T06:15:28.123456Z
  return ev;
}

} // namespace

// -- run events
// ----------------------------------------------------------------------

TEST_CASE("every run event carries chat_session_id, seq and time_us",
          "[codec][encode]") {
  for (auto kind :
       {event_kind::chat_session_start, event_kind::reasoning_start,
        event_kind::stage_update, event_kind::reasoning_step, event_kind::chunk,
        event_kind::reasoning_complete, event_kind::done, event_kind::cancelled,
        event_kind::error}) {
    INFO(to_string(kind));
    auto doc = parse(encode_event(make_event(kind)));
    auto& data = data_of(doc, to_string(kind));
    CHECK(str(data, "chat_session_id")
          == "3f1c2a9e-8d4b-4c1e-9a7f-2b6d5e8c1f00");
    REQUIRE(data["seq"].IsUint64());
    CHECK(data["seq"].GetUint64() == 5);
    REQUIRE(data["time_us"].IsInt64());
    CHECK(data["time_us"].GetInt64() == 1795587328123456);
  }
}

TEST_CASE("chat_session_start carries the conversation", "[codec][encode]") {
  auto ev = make_event(event_kind::chat_session_start);
  ev.conversation_id = "conv-1";
  auto doc = parse(encode_event(ev));
  auto& data = data_of(doc, "chat_session_start");
  CHECK(keys_of(data)
        == std::set<std::string>{"chat_session_id", "seq", "time_us",
                                 "conversation_id"});
  CHECK(str(data, "conversation_id") == "conv-1");
}

TEST_CASE("reasoning_start carries agent, message and enable_reasoning",
          "[codec][encode]") {
  auto ev = make_event(event_kind::reasoning_start);
  ev.agent = "researcher";
  ev.message = "What is (17+4)*3?";
  ev.enable_reasoning = false;
  auto doc = parse(encode_event(ev));
  auto& data = data_of(doc, "reasoning_start");
  CHECK(keys_of(data)
        == std::set<std::string>{"chat_session_id", "seq", "time_us", "agent",
                                 "message", "enable_reasoning"});
  CHECK(str(data, "agent") == "researcher");
  CHECK(str(data, "message") == "What is (17+4)*3?");
  REQUIRE(data["enable_reasoning"].IsBool());
  CHECK_FALSE(data["enable_reasoning"].GetBool());
}

TEST_CASE("stage_update carries stage and status", "[codec][encode]") {
  auto ev = make_event(event_kind::stage_update);
  ev.stage = "reasoning";
  ev.status = "started";
  auto doc = parse(encode_event(ev));
  auto& data = data_of(doc, "stage_update");
  CHECK(keys_of(data)
        == std::set<std::string>{"chat_session_id", "seq", "time_us", "stage",
                                 "status"});
  CHECK(str(data, "stage") == "reasoning");
  CHECK(str(data, "status") == "started");
}

TEST_CASE("reasoning_step carries type, content, iteration and an ISO time",
          "[codec][encode]") {
  auto ev = make_event(event_kind::reasoning_step);
  ev.step_type = "observation";
  ev.content = "63";
  ev.iteration = 2;
  auto doc = parse(encode_event(ev));
  auto& data = data_of(doc, "reasoning_step");
  CHECK(keys_of(data)
        == std::set<std::string>{"chat_session_id", "seq", "time_us", "type",
                                 "content", "iteration", "timestamp"});
  CHECK(str(data, "type") == "observation");
  CHECK(str(data, "content") == "63");
  REQUIRE(data["iteration"].IsUint());
  CHECK(data["iteration"].GetUint() == 2);
  CHECK(str(data, "timestamp") == "2026-11-25T06:15:28.123Z");
}

TEST_CASE("chunk carries content, thinking and done", "[codec][encode]") {
  auto ev = make_event(event_kind::chunk);
  ev.content = "63.";
  ev.thinking = false;
  ev.final_chunk = true;
  auto doc = parse(encode_event(ev));
  auto& data = data_of(doc, "chunk");
  CHECK(keys_of(data)
        == std::set<std::string>{"chat_session_id", "seq", "time_us", "content",
                                 "thinking", "done"});
  CHECK(str(data, "content") == "63.");
  REQUIRE(data["thinking"].IsBool());
  CHECK_FALSE(data["thinking"].GetBool());
  REQUIRE(data["done"].IsBool());
  CHECK(data["done"].GetBool());
}

TEST_CASE("done carries message_id, content, thinking and usage",
          "[codec][encode]") {
  auto ev = make_event(event_kind::done);
  ev.message_id = "msg-1";
  ev.content = "(17+4)*3 = 63.";
  ev.thinking_text = "Used calculator: (17+4)*3 = 63.";
  ev.usage = token_usage{3, 3, 6};
  auto doc = parse(encode_event(ev));
  auto& data = data_of(doc, "done");
  CHECK(keys_of(data)
        == std::set<std::string>{"chat_session_id", "seq", "time_us",
                                 "message_id", "content", "thinking", "usage"});
  CHECK(str(data, "message_id") == "msg-1");
  CHECK(str(data, "content") == "(17+4)*3 = 63.");
  CHECK(str(data, "thinking") == "Used calculator: (17+4)*3 = 63.");
  auto& usage = data["usage"];
  REQUIRE(usage.IsObject());
  CHECK(keys_of(usage)
        == std::set<std::string>{"prompt_tokens", "completion_tokens",
                                 "total_tokens"});
  CHECK(usage["prompt_tokens"].GetUint() == 3);
  CHECK(usage["completion_tokens"].GetUint() == 3);
  CHECK(usage["total_tokens"].GetUint() == 6);
}

TEST_CASE("reasoning_complete and cancelled carry only the run's id and seq",
          "[codec][encode]") {
  for (auto kind : {event_kind::reasoning_complete, event_kind::cancelled}) {
    auto ev = make_event(kind);
    ev.content = "ignored";
    ev.message = "ignored";
    auto doc = parse(encode_event(ev));
    CHECK(keys_of(data_of(doc, to_string(kind)))
          == std::set<std::string>{"chat_session_id", "seq", "time_us"});
  }
}

TEST_CASE("a run's error event carries code and message", "[codec][encode]") {
  auto ev = make_event(event_kind::error);
  ev.error_code = "not_found";
  ev.message = "unknown agent 'x'";
  auto doc = parse(encode_event(ev));
  auto& data = data_of(doc, "error");
  CHECK(keys_of(data)
        == std::set<std::string>{"chat_session_id", "seq", "time_us", "code",
                                 "message"});
  CHECK(str(data, "code") == "not_found");
  CHECK(str(data, "message") == "unknown agent 'x'");
}

TEST_CASE("event text survives encoding unchanged", "[codec][encode]") {
  static constexpr char nasty[] = "quote\" back\\slash\n\t\x01\x1f nul\0 "
                                  "caf\xC3\xA9 \xF0\x9F\x98\x80 </script>";
  auto ev = make_event(event_kind::chunk);
  ev.content.assign(nasty, sizeof(nasty) - 1);
  auto doc = parse(encode_event(ev));
  CHECK(str(data_of(doc, "chunk"), "content") == ev.content);
}

TEST_CASE("seq keeps its full 64 bits", "[codec][encode]") {
  auto ev = make_event(event_kind::cancelled);
  ev.seq = UINT64_MAX;
  auto doc = parse(encode_event(ev));
  CHECK(data_of(doc, "cancelled")["seq"].GetUint64() == UINT64_MAX);
}

TEST_CASE("event kinds have their frame names and three are terminal",
          "[codec][encode]") {
  CHECK(std::string{to_string(event_kind::chat_session_start)}
        == "chat_session_start");
  CHECK(std::string{to_string(event_kind::reasoning_complete)}
        == "reasoning_complete");
  CHECK(is_terminal(event_kind::done));
  CHECK(is_terminal(event_kind::cancelled));
  CHECK(is_terminal(event_kind::error));
  CHECK_FALSE(is_terminal(event_kind::chunk));
  CHECK_FALSE(is_terminal(event_kind::chat_session_start));
}

// -- the other server frames
// ---------------------------------------------------------

TEST_CASE("connected and session_start greet with session, agent and message",
          "[codec][encode]") {
  for (auto type : {"connected", "session_start"}) {
    auto doc = parse(encode_connected(type, "s-1", "researcher", "Welcome"));
    auto& data = data_of(doc, type);
    CHECK(keys_of(data)
          == std::set<std::string>{"session_id", "agent_name", "message"});
    CHECK(str(data, "session_id") == "s-1");
    CHECK(str(data, "agent_name") == "researcher");
    CHECK(str(data, "message") == "Welcome");
  }
}

TEST_CASE("pong echoes the ping's timestamp verbatim", "[codec][encode]") {
  for (auto ts : {"1712345678901", "-3", "1234.5678", R"("t-1")", "null",
                  R"({"a":[1,2],"b":"x"})", "[true,false]"}) {
    INFO(ts);
    auto text = encode_pong(ts, 1795587328123);
    CHECK_THAT(text, Catch::Contains(std::string{"\"timestamp\":"} + ts + ","));
    auto doc = parse(text);
    auto& data = data_of(doc, "pong");
    CHECK(keys_of(data) == std::set<std::string>{"timestamp", "server_time"});
    REQUIRE(data["server_time"].IsInt64());
    CHECK(data["server_time"].GetInt64() == 1795587328123);
  }
}

TEST_CASE("a decoded ping's timestamp comes back in the pong",
          "[codec][encode]") {
  auto frame = decode_client_frame(
    R"({"type":"ping","payload":{"timestamp":{"sent":1712345678901,"id":"p"}}})");
  REQUIRE(std::holds_alternative<ping_request>(frame));
  auto doc
    = parse(encode_pong(std::get<ping_request>(frame).timestamp_json, 1));
  auto& ts = data_of(doc, "pong")["timestamp"];
  REQUIRE(ts.IsObject());
  CHECK(ts["sent"].GetInt64() == 1712345678901);
  CHECK(str(ts, "id") == "p");
}

TEST_CASE("a pong with no timestamp text still is valid JSON",
          "[codec][encode]") {
  auto doc = parse(encode_pong("", 7));
  CHECK(data_of(doc, "pong")["timestamp"].IsNull());
}

TEST_CASE("an error frame has code and message, and type and field when known",
          "[codec][encode]") {
  auto bare = parse(encode_error(error_code::not_found, "no run 'x'"));
  CHECK(keys_of(data_of(bare, "error"))
        == std::set<std::string>{"code", "message"});
  CHECK(str(bare["data"], "code") == "not_found");
  CHECK(str(bare["data"], "message") == "no run 'x'");

  auto full
    = parse(encode_error(error_code::invalid_field, "bad", "chat", "message"));
  auto& data = data_of(full, "error");
  CHECK(keys_of(data)
        == std::set<std::string>{"code", "message", "type", "field"});
  CHECK(str(data, "code") == "invalid_field");
  CHECK(str(data, "type") == "chat");
  CHECK(str(data, "field") == "message");
}

TEST_CASE("a decode_error becomes the error frame it describes",
          "[codec][encode]") {
  auto frame
    = decode_client_frame(R"({"type":"chat","payload":{"message":1}})");
  REQUIRE(std::holds_alternative<decode_error>(frame));
  auto doc = parse(encode_error(std::get<decode_error>(frame)));
  auto& data = data_of(doc, "error");
  CHECK(str(data, "code") == "invalid_field");
  CHECK(str(data, "type") == "chat");
  CHECK(str(data, "field") == "message");
  CHECK_THAT(str(data, "message"), Catch::Contains("message"));

  auto bad = parse(encode_error(decode_error{
    error_code::unsupported_frame, "binary frames are not supported", {}, {}}));
  CHECK(keys_of(data_of(bad, "error"))
        == std::set<std::string>{"code", "message"});
  CHECK(str(bad["data"], "code") == "unsupported_frame");
}

TEST_CASE("subscribed names what it follows, the last_seq and the replay count",
          "[codec][encode]") {
  auto conv = parse(encode_subscribed("conv-1", "", 3, 9));
  auto& data = data_of(conv, "subscribed");
  CHECK(keys_of(data)
        == std::set<std::string>{"conversation_id", "last_seq", "replayed"});
  CHECK(str(data, "conversation_id") == "conv-1");
  CHECK(data["last_seq"].GetUint64() == 3);
  CHECK(data["replayed"].GetUint64() == 9);

  auto run = parse(encode_subscribed("", "run-1", 0, 0));
  CHECK(keys_of(data_of(run, "subscribed"))
        == std::set<std::string>{"chat_session_id", "last_seq", "replayed"});
  CHECK(str(run["data"], "chat_session_id") == "run-1");
}

TEST_CASE("broadcast carries the message and the server time",
          "[codec][encode]") {
  auto doc = parse(encode_broadcast("maintenance at 5 \"pm\"", 42));
  auto& data = data_of(doc, "broadcast");
  CHECK(keys_of(data) == std::set<std::string>{"message", "server_time"});
  CHECK(str(data, "message") == "maintenance at 5 \"pm\"");
  CHECK(data["server_time"].GetInt64() == 42);
}

// -- json_escape
// ----------------------------------------------------------------------

TEST_CASE("json_escape escapes quotes, backslashes and control characters",
          "[codec][escape]") {
  CHECK(json_escape("") == "");
  CHECK(json_escape("plain text") == "plain text");
  CHECK(json_escape("say \"hi\"") == R"(say \"hi\")");
  CHECK(json_escape("a\\b") == R"(a\\b)");
  CHECK(json_escape("\n\r\t\b\f") == R"(\n\r\t\b\f)");
  CHECK(json_escape("\x01\x1f") == R"(\u0001\u001F)");
  CHECK(json_escape(std::string_view{"a\0b", 3}) == R"(a\u0000b)");
  CHECK(json_escape("a/b") == "a/b");
}

TEST_CASE("json_escape passes UTF-8 through unchanged", "[codec][escape]") {
  CHECK(json_escape("caf\xC3\xA9") == "caf\xC3\xA9");
  CHECK(json_escape("\xE2\x80\xA8") == "\xE2\x80\xA8");
  CHECK(json_escape("\xF0\x9F\x98\x80") == "\xF0\x9F\x98\x80");
}

TEST_CASE("json_escape output quoted is a JSON string of the input",
          "[codec][escape]") {
  std::string input;
  for (int c = 1; c < 128; ++c)
    input += static_cast<char>(c);
  input += "\xC3\xA9\xF0\x9F\x98\x80";
  auto doc = parse(R"({"s":")" + json_escape(input) + "\"}");
  CHECK(str(doc, "s") == input);
}
