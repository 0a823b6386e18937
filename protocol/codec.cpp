#include "protocol/codec.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "protocol/ids.hpp"
#include "protocol/json_numbers.hpp"
#include "protocol/utf8.hpp"

namespace parley {

namespace {

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

decode_error fail(error_code code, std::string message, std::string type = {},
                  std::string field = {}) {
  return decode_error{code, std::move(message), std::move(type),
                      std::move(field)};
}

/// Reads the optional string member `name`; a wrong type is an error.
bool read_string(const rapidjson::Value& obj, const char* name,
                 std::string& out, decode_error& err, const std::string& type) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || it->value.IsNull())
    return true;
  if (!it->value.IsString()) {
    err
      = fail(error_code::invalid_field,
             std::string{"field '"} + name + "' must be a string", type, name);
    return false;
  }
  out.assign(it->value.GetString(), it->value.GetStringLength());
  return true;
}

bool read_bool(const rapidjson::Value& obj, const char* name, bool& out,
               decode_error& err, const std::string& type) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || it->value.IsNull())
    return true;
  if (!it->value.IsBool()) {
    err = fail(error_code::invalid_field,
               std::string{"field '"} + name + "' must be true or false", type,
               name);
    return false;
  }
  out = it->value.GetBool();
  return true;
}

/// True when every key and string in `value` is valid UTF-8. Recursion is
/// bounded: the document passed exceeds_depth first.
bool all_strings_utf8(const rapidjson::Value& value) {
  if (value.IsString())
    return is_valid_utf8({value.GetString(), value.GetStringLength()});
  if (value.IsArray()) {
    for (auto& x : value.GetArray())
      if (!all_strings_utf8(x))
        return false;
  } else if (value.IsObject()) {
    for (auto& member : value.GetObject())
      if (!all_strings_utf8(member.name) || !all_strings_utf8(member.value))
        return false;
  }
  return true;
}

std::string to_json_text(const rapidjson::Value& value) {
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  value.Accept(w);
  return {buf.GetString(), buf.GetSize()};
}

bool is_blank(const std::string& text) {
  return text.find_first_not_of(" \t\r\n") == std::string::npos;
}

client_frame decode_chat(const rapidjson::Value& p, const std::string& type) {
  chat_request req;
  decode_error err;
  if (!read_string(p, "message", req.message, err, type)
      || !read_string(p, "agent_name", req.agent_name, err, type)
      || !read_string(p, "conversation_id", req.conversation_id, err, type)
      || !read_string(p, "client_msg_id", req.client_msg_id, err, type)
      || !read_bool(p, "enable_reasoning", req.enable_reasoning, err, type)
      || !read_bool(p, "cancel_on_disconnect", req.cancel_on_disconnect, err,
                    type))
    return err;
  if (is_blank(req.message))
    return fail(error_code::invalid_field,
                "field 'message' is required and must not be empty", type,
                "message");
  return req;
}

client_frame decode_ping(const rapidjson::Value& p) {
  ping_request req;
  auto it = p.FindMember("timestamp");
  if (it != p.MemberEnd())
    req.timestamp_json = to_json_text(it->value);
  return req;
}

client_frame decode_cancel(const rapidjson::Value& doc,
                           const rapidjson::Value& p, const std::string& type) {
  cancel_request req;
  decode_error err;
  if (!read_string(p, "chat_session_id", req.id, err, type))
    return err;
  if (req.id.empty() && !read_string(p, "client_msg_id", req.id, err, type))
    return err;
  if (req.id.empty() && !read_string(doc, "session_id", req.id, err, type))
    return err;
  return req;
}

client_frame decode_subscribe(const rapidjson::Value& p,
                              const std::string& type) {
  subscribe_request req;
  decode_error err;
  if (!read_string(p, "conversation_id", req.conversation_id, err, type)
      || !read_string(p, "chat_session_id", req.chat_session_id, err, type))
    return err;
  if (req.conversation_id.empty() == req.chat_session_id.empty())
    return fail(error_code::invalid_field,
                "give exactly one of 'conversation_id' or 'chat_session_id'",
                type, "conversation_id");
  auto it = p.FindMember("last_seq");
  if (it != p.MemberEnd() && !it->value.IsNull()) {
    if (!it->value.IsUint64())
      return fail(error_code::invalid_field,
                  "field 'last_seq' must be a non-negative integer", type,
                  "last_seq");
    req.last_seq = it->value.GetUint64();
  }
  return req;
}

void write_string(json_writer& w, const char* key, std::string_view value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

template<class Fn>
std::string frame(std::string_view type, Fn&& write_data) {
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  w.StartObject();
  write_string(w, "type", type);
  w.Key("data");
  w.StartObject();
  write_data(w);
  w.EndObject();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

void write_event_payload(json_writer& w, const run_event& ev) {
  switch (ev.kind) {
    case event_kind::chat_session_start:
      write_string(w, "conversation_id", ev.conversation_id);
      break;
    case event_kind::reasoning_start:
      write_string(w, "agent", ev.agent);
      write_string(w, "message", ev.message);
      w.Key("enable_reasoning");
      w.Bool(ev.enable_reasoning);
      break;
    case event_kind::stage_update:
      write_string(w, "stage", ev.stage);
      write_string(w, "status", ev.status);
      break;
    case event_kind::reasoning_step:
      write_string(w, "type", ev.step_type);
      write_string(w, "content", ev.content);
      w.Key("iteration");
      w.Uint(ev.iteration);
      write_string(w, "timestamp", to_iso8601(ev.time_us / 1000));
      break;
    case event_kind::chunk:
      write_string(w, "content", ev.content);
      w.Key("thinking");
      w.Bool(ev.thinking);
      w.Key("done");
      w.Bool(ev.final_chunk);
      break;
    case event_kind::reasoning_complete: break;
    case event_kind::done:
      write_string(w, "message_id", ev.message_id);
      write_string(w, "content", ev.content);
      write_string(w, "thinking", ev.thinking_text);
      w.Key("usage");
      w.StartObject();
      w.Key("prompt_tokens");
      w.Uint(ev.usage.prompt_tokens);
      w.Key("completion_tokens");
      w.Uint(ev.usage.completion_tokens);
      w.Key("total_tokens");
      w.Uint(ev.usage.total_tokens);
      w.EndObject();
      break;
    case event_kind::cancelled: break;
    case event_kind::error:
      write_string(w, "code", ev.error_code);
      write_string(w, "message", ev.message);
      break;
  }
}

} // namespace

bool exceeds_depth(std::string_view text, int limit) noexcept {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit)
        return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

client_frame decode_client_frame(std::string_view text) {
  if (exceeds_depth(text, max_json_depth))
    return fail(error_code::bad_json, "JSON nested deeper than "
                                        + std::to_string(max_json_depth)
                                        + " levels");
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError())
    return fail(error_code::bad_json,
                std::string{"malformed JSON at offset "}
                  + std::to_string(doc.GetErrorOffset()) + ": "
                  + rapidjson::GetParseError_En(doc.GetParseError()));
  if (!doc.IsObject())
    return fail(error_code::bad_json, "a frame must be a JSON object");
  // Echoing such a string would make every peer fail the connection (1007).
  if (!all_strings_utf8(doc))
    return fail(error_code::bad_json,
                "a string escapes to text that is not valid UTF-8 (a lone "
                "surrogate such as \\udc00?)");
  if (!all_numbers_finite(doc))
    return fail(error_code::bad_json,
                "a number is too large to represent (beyond about 1.8e308)");
  auto type_it = doc.FindMember("type");
  if (type_it == doc.MemberEnd() || !type_it->value.IsString())
    return fail(error_code::invalid_field,
                "field 'type' is required and must be a string", {}, "type");
  std::string type{type_it->value.GetString(),
                   type_it->value.GetStringLength()};
  static const rapidjson::Value empty_object{rapidjson::kObjectType};
  const rapidjson::Value* payload = &empty_object;
  for (const char* key : {"payload", "data"}) {
    auto it = doc.FindMember(key);
    if (it == doc.MemberEnd() || it->value.IsNull())
      continue;
    if (!it->value.IsObject())
      return fail(error_code::invalid_field,
                  std::string{"field '"} + key + "' must be an object", type,
                  key);
    payload = &it->value;
    break;
  }
  if (type == "chat")
    return decode_chat(*payload, type);
  if (type == "ping")
    return decode_ping(*payload);
  if (type == "cancel")
    return decode_cancel(doc, *payload, type);
  if (type == "interrupt")
    return interrupt_request{};
  if (type == "subscribe")
    return decode_subscribe(*payload, type);
  return fail(error_code::unknown_type, "unknown frame type '" + type + "'",
              type, "type");
}

std::string encode_event(const run_event& ev) {
  return frame(to_string(ev.kind), [&](json_writer& w) {
    write_string(w, "chat_session_id", ev.chat_session_id);
    w.Key("seq");
    w.Uint64(ev.seq);
    w.Key("time_us");
    w.Int64(ev.time_us);
    write_event_payload(w, ev);
  });
}

std::string encode_connected(std::string_view type, std::string_view session_id,
                             std::string_view agent_name,
                             std::string_view message) {
  return frame(type, [&](json_writer& w) {
    write_string(w, "session_id", session_id);
    write_string(w, "agent_name", agent_name);
    write_string(w, "message", message);
  });
}

std::string encode_pong(std::string_view timestamp_json,
                        int64_t server_time_ms) {
  return frame("pong", [&](json_writer& w) {
    w.Key("timestamp");
    // Empty text would leave `"timestamp":,` in the frame: send null instead.
    if (timestamp_json.empty())
      w.Null();
    else
      w.RawValue(timestamp_json.data(), timestamp_json.size(),
                 rapidjson::kObjectType);
    w.Key("server_time");
    w.Int64(server_time_ms);
  });
}

std::string encode_error(error_code code, std::string_view message,
                         std::string_view type, std::string_view field) {
  return frame("error", [&](json_writer& w) {
    write_string(w, "code", to_string(code));
    write_string(w, "message", message);
    if (!type.empty())
      write_string(w, "type", type);
    if (!field.empty())
      write_string(w, "field", field);
  });
}

std::string encode_error(const decode_error& err) {
  return encode_error(err.code, err.message, err.type, err.field);
}

std::string encode_subscribed(std::string_view conversation_id,
                              std::string_view chat_session_id,
                              uint64_t last_seq, size_t replayed) {
  return frame("subscribed", [&](json_writer& w) {
    if (!conversation_id.empty())
      write_string(w, "conversation_id", conversation_id);
    if (!chat_session_id.empty())
      write_string(w, "chat_session_id", chat_session_id);
    w.Key("last_seq");
    w.Uint64(last_seq);
    w.Key("replayed");
    w.Uint64(replayed);
  });
}

std::string encode_broadcast(std::string_view message, int64_t server_time_ms) {
  return frame("broadcast", [&](json_writer& w) {
    write_string(w, "message", message);
    w.Key("server_time");
    w.Int64(server_time_ms);
  });
}

std::string encode_run_status(const run_record& rec) {
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  w.StartObject();
  write_string(w, "run_id", rec.id);
  write_string(w, "status", to_string(rec.status));
  write_string(w, "conversation_id", rec.conversation_id);
  write_string(w, "agent_name", rec.agent_name);
  write_string(w, "query", rec.query);
  write_string(w, "created_at", to_iso8601(rec.created_at_ms));
  write_string(w, "updated_at", to_iso8601(rec.updated_at_ms));
  w.Key("last_seq");
  w.Uint64(rec.last_seq);
  if (is_final(rec.status)) {
    w.Key("result");
    w.String(rec.result.data(),
             static_cast<rapidjson::SizeType>(rec.result.size()));
  }
  if (!rec.error.empty())
    write_string(w, "error", rec.error);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string encode_sse(const event_frame& frame) {
  std::string out;
  out.reserve(frame.json.size() + frame.type.size() + 40);
  out += "id: ";
  out += std::to_string(frame.seq);
  out += "\nevent: ";
  out += frame.type;
  // Our JSON is written without newlines, so one data line carries it.
  out += "\ndata: ";
  out += frame.json;
  out += "\n\n";
  return out;
}

std::string json_escape(std::string_view text) {
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  // Drop the quotes the writer added around the string.
  return {buf.GetString() + 1, buf.GetSize() - 2};
}

} // namespace parley
