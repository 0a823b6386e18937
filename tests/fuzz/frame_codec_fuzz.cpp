// libFuzzer target: the bytes are one WebSocket text frame from a client.
// decode_client_frame must never crash, throw or recurse past max_json_depth;
// whatever it decodes is encoded again the ways the server would (error
// frames, pong, events, SSE, a client frame for a round trip) and every
// output must be one valid, strictly UTF-8 JSON object carrying the values
// that went in. A broken invariant traps, so libFuzzer saves the input.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "fuzz_check.hpp"
#include "protocol/codec.hpp"
#include "protocol/utf8.hpp"

using namespace parley;

namespace {

using writer = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr unsigned strict_parse
  = rapidjson::kParseValidateEncodingFlag | rapidjson::kParseFullPrecisionFlag;

/// Parses `json`, which the server produced: it must be valid UTF-8 and
/// parse to an object.
rapidjson::Document parse_ours(const std::string& json) {
  FUZZ_CHECK(is_valid_utf8(json));
  // One data line per SSE event relies on this.
  FUZZ_CHECK(json.find('\n') == std::string::npos);
  FUZZ_CHECK(json.find('\r') == std::string::npos);
  rapidjson::Document doc;
  doc.Parse<strict_parse>(json.data(), json.size());
  FUZZ_CHECK(!doc.HasParseError());
  FUZZ_CHECK(doc.IsObject());
  return doc;
}

std::string_view str(const rapidjson::Value& v) {
  FUZZ_CHECK(v.IsString());
  return {v.GetString(), v.GetStringLength()};
}

const rapidjson::Value& member(const rapidjson::Value& obj, const char* name) {
  FUZZ_CHECK(obj.IsObject());
  auto it = obj.FindMember(name);
  FUZZ_CHECK(it != obj.MemberEnd());
  return it->value;
}

/// `{"type":T,"data":{...}}`: checks T and returns data.
const rapidjson::Value& frame_data(const rapidjson::Document& doc,
                                   std::string_view type) {
  FUZZ_CHECK(str(member(doc, "type")) == type);
  return member(doc, "data");
}

std::string to_text(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  writer w{buf};
  FUZZ_CHECK(v.Accept(w));
  return {buf.GetString(), buf.GetSize()};
}

/// Nesting depth of a parsed value without recursion (arrays and objects
/// count one level each, as exceeds_depth counts them).
int depth_of(const rapidjson::Value& root) {
  std::vector<std::pair<const rapidjson::Value*, int>> todo{{&root, 0}};
  int max = 0;
  while (!todo.empty()) {
    auto [v, d] = todo.back();
    todo.pop_back();
    if (v->IsArray()) {
      max = std::max(max, d + 1);
      for (auto& x : v->GetArray())
        todo.emplace_back(&x, d + 1);
    } else if (v->IsObject()) {
      max = std::max(max, d + 1);
      for (auto& m : v->GetObject())
        todo.emplace_back(&m.value, d + 1);
    }
  }
  return max;
}

void write_str(writer& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

template<class Fn>
std::string client_frame_text(const char* type, Fn&& payload) {
  rapidjson::StringBuffer buf;
  writer w{buf};
  w.StartObject();
  w.Key("type");
  w.String(type);
  w.Key("payload");
  w.StartObject();
  payload(w);
  w.EndObject();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

template<class T>
T decode_again(const std::string& text) {
  auto again = decode_client_frame(text);
  FUZZ_CHECK(std::holds_alternative<T>(again));
  return std::get<T>(std::move(again));
}

// -- per frame type --------------------------------------------------------

void check_error(const decode_error& err) {
  auto json = encode_error(err);
  auto doc = parse_ours(json);
  auto& data = frame_data(doc, "error");
  FUZZ_CHECK(str(member(data, "code")) == to_string(err.code));
  FUZZ_CHECK(str(member(data, "message")) == err.message);
  if (!err.type.empty())
    FUZZ_CHECK(str(member(data, "type")) == err.type);
  if (!err.field.empty())
    FUZZ_CHECK(str(member(data, "field")) == err.field);
}

void check_chat(const chat_request& req) {
  FUZZ_CHECK(!req.message.empty());
  auto text = client_frame_text("chat", [&](writer& w) {
    write_str(w, "message", req.message);
    write_str(w, "agent_name", req.agent_name);
    write_str(w, "conversation_id", req.conversation_id);
    write_str(w, "client_msg_id", req.client_msg_id);
    w.Key("enable_reasoning");
    w.Bool(req.enable_reasoning);
    w.Key("cancel_on_disconnect");
    w.Bool(req.cancel_on_disconnect);
  });
  auto again = decode_again<chat_request>(text);
  FUZZ_CHECK(again.message == req.message);
  FUZZ_CHECK(again.agent_name == req.agent_name);
  FUZZ_CHECK(again.conversation_id == req.conversation_id);
  FUZZ_CHECK(again.client_msg_id == req.client_msg_id);
  FUZZ_CHECK(again.enable_reasoning == req.enable_reasoning);
  FUZZ_CHECK(again.cancel_on_disconnect == req.cancel_on_disconnect);
  // What the server sends back about this message.
  run_event ev;
  ev.kind = event_kind::reasoning_start;
  ev.chat_session_id = req.client_msg_id;
  ev.seq = 1;
  ev.agent = req.agent_name;
  ev.message = req.message;
  auto json = encode_event(ev);
  auto doc = parse_ours(json);
  auto& data = frame_data(doc, "reasoning_start");
  FUZZ_CHECK(str(member(data, "message")) == req.message);
  FUZZ_CHECK(str(member(data, "agent")) == req.agent_name);
  FUZZ_CHECK(str(member(data, "chat_session_id")) == req.client_msg_id);
  auto sse = encode_sse({ev.chat_session_id, ev.seq, "reasoning_start", json});
  FUZZ_CHECK(sse == "id: 1\nevent: reasoning_start\ndata: " + json + "\n\n");
  parse_ours(encode_connected("connected", req.conversation_id, req.agent_name,
                              req.message));
  parse_ours(encode_broadcast(req.message, -1));
}

/// True when `text` parses to a document holding a number too large for a
/// double (e.g. 10e308: RapidJSON reads it as infinity).
bool has_infinite_number(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  if (doc.HasParseError())
    return false;
  std::vector<const rapidjson::Value*> todo{&doc};
  while (!todo.empty()) {
    auto* v = todo.back();
    todo.pop_back();
    if (v->IsDouble() && !std::isfinite(v->GetDouble()))
      return true;
    if (v->IsArray())
      for (auto& x : v->GetArray())
        todo.push_back(&x);
    else if (v->IsObject())
      for (auto& m : v->GetObject())
        todo.push_back(&m.value);
  }
  return false;
}

void check_ping(std::string_view text, const ping_request& req) {
  // A number beyond a double (10e308) is refused by the decoder: RapidJSON
  // would read it as infinity and its writer stop half-way.
  FUZZ_CHECK(!has_infinite_number(text));
  FUZZ_CHECK(!req.timestamp_json.empty());
  auto doc = parse_ours(encode_pong(req.timestamp_json, 42));
  auto& data = frame_data(doc, "pong");
  // The echo is the client's value as RapidJSON writes it back.
  FUZZ_CHECK(to_text(member(data, "timestamp")) == req.timestamp_json);
  FUZZ_CHECK(member(data, "server_time").IsInt64());
}

void check_cancel(const cancel_request& req) {
  auto text = client_frame_text(
    "cancel", [&](writer& w) { write_str(w, "chat_session_id", req.id); });
  FUZZ_CHECK(decode_again<cancel_request>(text).id == req.id);
}

void check_subscribe(const subscribe_request& req) {
  // Exactly one of the two ids.
  FUZZ_CHECK(req.conversation_id.empty() != req.chat_session_id.empty());
  auto text = client_frame_text("subscribe", [&](writer& w) {
    if (!req.conversation_id.empty())
      write_str(w, "conversation_id", req.conversation_id);
    if (!req.chat_session_id.empty())
      write_str(w, "chat_session_id", req.chat_session_id);
    w.Key("last_seq");
    w.Uint64(req.last_seq);
  });
  auto again = decode_again<subscribe_request>(text);
  FUZZ_CHECK(again.conversation_id == req.conversation_id);
  FUZZ_CHECK(again.chat_session_id == req.chat_session_id);
  FUZZ_CHECK(again.last_seq == req.last_seq);
  auto doc = parse_ours(encode_subscribed(
    req.conversation_id, req.chat_session_id, req.last_seq, 7));
  auto& data = frame_data(doc, "subscribed");
  FUZZ_CHECK(member(data, "last_seq").GetUint64() == req.last_seq);
}

/// The depth guard against an independent measurement: RapidJSON's
/// iterative parser cannot overflow the stack, so it may read any input.
void check_depth(std::string_view text, const client_frame& frame) {
  bool too_deep = exceeds_depth(text, max_json_depth);
  if (too_deep) {
    auto* err = std::get_if<decode_error>(&frame);
    FUZZ_CHECK(err && err->code == error_code::bad_json);
    return;
  }
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  if (doc.HasParseError())
    return;
  // Valid JSON that passed the guard is no deeper than the limit (the
  // recursive parser in decode_client_frame relies on this).
  FUZZ_CHECK(depth_of(doc) <= max_json_depth);
}

/// json_escape must give text that reads back as exactly `raw`.
void check_escape(std::string_view raw) {
  auto quoted = "\"" + json_escape(raw) + "\"";
  FUZZ_CHECK(quoted.find('\n') == std::string::npos);
  rapidjson::Document doc;
  doc.Parse(quoted.data(), quoted.size());
  FUZZ_CHECK(!doc.HasParseError());
  FUZZ_CHECK(str(doc) == raw);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto frame = decode_client_frame(text);
  check_depth(text, frame);
  if (auto* x = std::get_if<decode_error>(&frame))
    check_error(*x);
  else if (auto* x = std::get_if<chat_request>(&frame))
    check_chat(*x);
  else if (auto* x = std::get_if<ping_request>(&frame))
    check_ping(text, *x);
  else if (auto* x = std::get_if<cancel_request>(&frame))
    check_cancel(*x);
  else if (auto* x = std::get_if<subscribe_request>(&frame))
    check_subscribe(*x);
  if (size < 4096)
    check_escape(text);
  return 0;
}
