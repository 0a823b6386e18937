#include "protocol/run_summary.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace parley {

namespace {

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

std::string string_of(const rapidjson::Value& data, const char* name) {
  auto it = data.FindMember(name);
  if (it == data.MemberEnd() || !it->value.IsString())
    return {};
  return {it->value.GetString(), it->value.GetStringLength()};
}

void write_member_string(json_writer& w, const char* key,
                         const std::string& value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

} // namespace

run_summary summarize_run(std::string_view conversation_id,
                          const std::vector<event_frame>& frames,
                          int64_t duration_ms) {
  run_summary out;
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  w.StartObject();
  w.Key("conversation_id");
  w.String(conversation_id.data(),
           static_cast<rapidjson::SizeType>(conversation_id.size()));
  w.Key("stages");
  w.StartArray();
  rapidjson::Document done;
  for (auto& frame : frames) {
    if (frame.type != "stage_update" && !frame.terminal)
      continue;
    rapidjson::Document doc;
    doc.Parse(frame.json.data(), frame.json.size());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("data"))
      continue;
    auto& data = doc["data"];
    if (frame.type == "stage_update") {
      w.StartObject();
      write_member_string(w, "stage", string_of(data, "stage"));
      write_member_string(w, "status", string_of(data, "status"));
      w.EndObject();
      continue;
    }
    out.outcome = frame.type;
    if (frame.type == "error") {
      out.error_code = string_of(data, "code");
      out.error_message = string_of(data, "message");
    } else if (frame.type == "done") {
      done.CopyFrom(data, done.GetAllocator());
    }
  }
  w.EndArray();
  if (out.outcome != "done")
    return out;
  write_member_string(w, "message_id", string_of(done, "message_id"));
  write_member_string(w, "content", string_of(done, "content"));
  write_member_string(w, "thinking", string_of(done, "thinking"));
  w.Key("usage");
  if (auto it = done.FindMember("usage");
      it != done.MemberEnd() && it->value.IsObject())
    it->value.Accept(w);
  else
    w.Null();
  w.Key("duration_ms");
  w.Int64(duration_ms);
  w.EndObject();
  out.json.assign(buf.GetString(), buf.GetSize());
  return out;
}

} // namespace parley
