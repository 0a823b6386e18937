#include "transport/openapi.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <boost/beast/http/verb.hpp>
#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include "protocol/resources.hpp"

namespace parley {

namespace {

using writer = rapidjson::PrettyWriter<rapidjson::StringBuffer>;

void key(writer& w, std::string_view name) {
  w.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
}

void str(writer& w, std::string_view value) {
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void member(writer& w, std::string_view name, std::string_view value) {
  key(w, name);
  str(w, value);
}

/// Writes a JSON text (our own, known to be valid) as a value.
void raw_json(writer& w, std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  doc.Accept(w);
}

void field_schema(writer& w, const field_spec& f) {
  w.StartObject();
  key(w, "type");
  if (f.is_nullable && f.default_json.empty()) {
    w.StartArray();
    str(w, json_type_name(f.type));
    str(w, "null");
    w.EndArray();
  } else {
    str(w, json_type_name(f.type));
  }
  if (f.type == field_type::id)
    member(w, "format", "uuid");
  if (f.min_length > 0) {
    key(w, "minLength");
    w.Uint64(f.min_length);
  }
  if (f.max_length > 0) {
    key(w, "maxLength");
    w.Uint64(f.max_length);
  }
  if (f.minimum) {
    key(w, "minimum");
    w.Double(*f.minimum);
  }
  if (f.maximum) {
    key(w, "maximum");
    w.Double(*f.maximum);
  }
  if (!f.allowed.empty()) {
    key(w, "enum");
    w.StartArray();
    for (auto& x : f.allowed)
      str(w, x);
    if (f.is_nullable && f.default_json.empty())
      w.Null();
    w.EndArray();
  }
  if (!f.pattern.empty())
    member(w, "pattern", "^" + f.pattern + "$");
  if (f.must_be_regex)
    member(w, "format", "regex");
  if (!f.default_json.empty()) {
    key(w, "default");
    raw_json(w, f.default_json);
  }
  std::string text = f.description;
  if (!f.references.empty())
    text += (text.empty() ? "" : "; ") + std::string{"the id of one of the "}
            + f.references + " (it must exist)";
  if (f.is_unique)
    text += (text.empty() ? "" : "; ") + std::string{"unique"};
  if (!text.empty())
    member(w, "description", text);
  w.EndObject();
}

void object_schema_of(writer& w, const object_schema& schema,
                      bool with_server_fields) {
  w.StartObject();
  member(w, "type", "object");
  key(w, "properties");
  w.StartObject();
  if (with_server_fields) {
    key(w, "id");
    raw_json(w, R"({"type":"string","format":"uuid","readOnly":true})");
  }
  for (auto& f : schema.fields) {
    key(w, f.name);
    field_schema(w, f);
  }
  if (with_server_fields) {
    for (auto name : {"created_at", "updated_at"}) {
      key(w, name);
      raw_json(w, R"({"type":"string","format":"date-time","readOnly":true})");
    }
  }
  w.EndObject();
  key(w, "required");
  w.StartArray();
  if (with_server_fields)
    for (auto name : {"id", "created_at", "updated_at"})
      str(w, name);
  for (auto& f : schema.fields)
    if (f.is_required)
      str(w, f.name);
  w.EndArray();
  // Strict on input; read-only members are accepted and ignored.
  key(w, "additionalProperties");
  w.Bool(false);
  w.EndObject();
}

/// Response and helper schemas that are not resource kinds.
const std::map<std::string, std::string>& fixed_schemas() {
  static const std::map<std::string, std::string> schemas = {
    {"Error",
     R"({"type":"object","required":["error"],"properties":{"error":{"type":"object","required":["code","message"],"properties":{"code":{"type":"string","description":"bad_json, invalid_field, validation_failed, not_found, conflict, unsupported_media_type, too_large, gone, timeout, storage_unavailable, unauthorized, forbidden, rate_limited, too_many_runs, too_many_connections, internal"},"message":{"type":"string"},"field":{"type":"string"}}},"status":{"type":"string","description":"the run's final status , in a 409 from cancel"}}})"},
    {"RunStarted",
     R"({"type":"object","required":["run_id","status","conversation_id"],"properties":{"run_id":{"type":"string","format":"uuid"},"status":{"type":"string","enum":["started","queued","running","complete","cancelled","failed","interrupted"]},"conversation_id":{"type":"string"}}})"},
    {"RunStatus",
     R"({"type":"object","required":["run_id","status","conversation_id","created_at","updated_at","last_seq"],"properties":{"run_id":{"type":"string","format":"uuid"},"status":{"type":"string","enum":["queued","running","complete","cancelled","failed","interrupted"]},"conversation_id":{"type":"string"},"agent_name":{"type":"string"},"query":{"type":"string"},"created_at":{"type":"string","format":"date-time"},"updated_at":{"type":"string","format":"date-time"},"last_seq":{"type":"integer","minimum":0},"result":{"type":"string","description":"the answer, partial if cancelled, once the run ended"},"error":{"type":"string"}}})"},
    {"RunCancelled",
     R"({"type":"object","required":["run_id","status"],"properties":{"run_id":{"type":"string","format":"uuid"},"status":{"type":"string","const":"cancelled"}}})"},
    {"Event",
     R"({"type":"object","required":["type","data"],"description":"exactly the WebSocket frame; data carries chat_session_id, the run id, seq and time_us","properties":{"type":{"type":"string","enum":["chat_session_start","reasoning_start","stage_update","reasoning_step","chunk","reasoning_complete","done","cancelled","error"]},"data":{"type":"object","required":["chat_session_id","seq","time_us"],"properties":{"chat_session_id":{"type":"string"},"seq":{"type":"integer","minimum":1},"time_us":{"type":"integer","description":"when the event was made, microseconds since the Unix epoch by the server clock"}}}}})"},
    {"ChatSendReply",
     R"({"type":"object","required":["conversation_id","message_id","content","thinking","usage","stages","duration_ms"],"properties":{"conversation_id":{"type":"string"},"message_id":{"type":"string","format":"uuid"},"content":{"type":"string"},"thinking":{"type":"string"},"usage":{"type":"object","properties":{"prompt_tokens":{"type":"integer"},"completion_tokens":{"type":"integer"},"total_tokens":{"type":"integer"}}},"stages":{"type":"array","items":{"type":"object","properties":{"stage":{"type":"string"},"status":{"type":"string"}}}},"duration_ms":{"type":"integer"}}})"},
    {"TemplateResolveReply",
     R"({"type":"object","required":["resolved","modules_used"],"properties":{"resolved":{"type":"string"},"modules_used":{"type":"array","items":{"type":"string"}}}})"},
    {"PluginFunction",
     R"({"type":"object","required":["name","description"],"properties":{"name":{"type":"string"},"description":{"type":"string"},"example":{"type":"string"}}})"},
    {"ImageUpload",
     R"({"type":"object","required":["url","content_type","size"],"properties":{"url":{"type":"string"},"content_type":{"type":"string"},"size":{"type":"integer"}}})"},
    {"Ready",
     R"({"type":"object","required":["status","storage"],"properties":{"status":{"type":"string"},"storage":{"type":"string"}}})"},
    {"Health",
     R"({"type":"object","required":["status","storage"],"properties":{"status":{"type":"string","const":"ok"},"storage":{"type":"string","enum":["up","down"]}}})"},
    {"Connections",
     R"({"type":"object","required":["active_connections","session_ids"],"properties":{"active_connections":{"type":"integer"},"session_ids":{"type":"array","items":{"type":"string"}}}})"},
    {"BroadcastRequest",
     R"({"type":"object","required":["message"],"properties":{"message":{"type":"string"}}})"},
    {"ApiKey", R"({"type":"object","required":["id","user","admin","created_at"],"properties":{"id":{"type":"string"},"user":{"type":"string"},"admin":{"type":"boolean"},"created_at":{"type":"string","format":"date-time"},"key":{"type":"string","description":"the key itself: only in the answer that made it"}}})"},
    {"BroadcastReply",
     R"({"type":"object","required":["sent_to"],"properties":{"sent_to":{"type":"integer"}}})"},
  };
  return schemas;
}

void content_of(writer& w, const std::string& schema) {
  key(w, "content");
  w.StartObject();
  if (schema.find('/') != std::string::npos) {
    // A media type: binary images or an event stream.
    if (schema == "image/*") {
      for (auto type : {"image/png", "image/jpeg", "image/webp"}) {
        key(w, type);
        raw_json(w, R"({"schema":{"type":"string","format":"binary"}})");
      }
    } else {
      key(w, schema);
      raw_json(w, R"({"schema":{"type":"string"}})");
    }
    w.EndObject();
    return;
  }
  key(w, "application/json");
  w.StartObject();
  key(w, "schema");
  bool array = schema.size() > 2 && schema.substr(schema.size() - 2) == "[]";
  auto name = array ? schema.substr(0, schema.size() - 2) : schema;
  auto ref = R"({"$ref":"#/components/schemas/)" + name + R"("})";
  if (array)
    raw_json(w, R"({"type":"array","items":)" + ref + "}");
  else
    raw_json(w, ref);
  w.EndObject();
  w.EndObject();
}

std::string operation_id(const rest_route& route) {
  std::string out{boost::beast::http::to_string(route.method)};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  bool upper = true;
  for (char c : route.pattern) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      out += upper ? static_cast<char>(std::toupper(c)) : c;
      upper = false;
    } else {
      upper = true;
    }
  }
  return out;
}

/// The route's own responses plus the errors every route of its shape can
/// give, which the tables leave out to stay readable.
std::vector<response_doc> with_common_errors(const rest_route& route) {
  auto out = route.responses;
  auto add = [&out](unsigned status, const char* what) {
    for (auto& r : out)
      if (r.status == status)
        return;
    out.push_back({status, what, "Error"});
  };
  bool has_id = route.pattern.find("id}") != std::string::npos;
  bool json_body
    = !route.body.empty() && route.body.find('/') == std::string::npos;
  if (has_id || json_body)
    add(400, "malformed JSON, or an id that is not a UUID");
  if (!route.body.empty())
    add(413, "body too large");
  if (json_body)
    add(415, "body is not application/json");
  if (route.pattern.rfind("/api/", 0) == 0 || route.pattern == "/connections"
      || route.pattern == "/broadcast")
    add(503, "the store or an actor did not answer in time");
  if (route.access != route_access::open) {
    add(401, "no API key or token, or one that is not accepted");
    add(429, "over the caller's request budget (see Retry-After)");
  }
  if (route.access == route_access::admin)
    add(403, "the caller is not an admin");
  std::sort(out.begin(), out.end(),
            [](const response_doc& a, const response_doc& b) {
              return a.status < b.status;
            });
  return out;
}

void operation(writer& w, const rest_route& route) {
  std::string method{boost::beast::http::to_string(route.method)};
  for (auto& c : method)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  key(w, method);
  w.StartObject();
  member(w, "operationId", operation_id(route));
  member(w, "summary", route.summary);
  key(w, "tags");
  w.StartArray();
  str(w, route.tag);
  w.EndArray();
  if (!route.params.empty()) {
    key(w, "parameters");
    w.StartArray();
    for (auto& p : route.params) {
      w.StartObject();
      member(w, "name", p.name);
      member(w, "in", p.in);
      key(w, "required");
      w.Bool(p.in == "path");
      if (!p.description.empty())
        member(w, "description", p.description);
      key(w, "schema");
      w.StartObject();
      member(w, "type", p.type);
      if (p.description == "a UUID")
        member(w, "format", "uuid");
      w.EndObject();
      w.EndObject();
    }
    w.EndArray();
  }
  if (!route.body.empty()) {
    key(w, "requestBody");
    w.StartObject();
    key(w, "required");
    w.Bool(true);
    content_of(w, route.body);
    w.EndObject();
  }
  key(w, "security");
  if (route.access == route_access::open)
    raw_json(w, "[]");
  else
    raw_json(w, R"([{"bearer":[]}])");
  key(w, "responses");
  w.StartObject();
  for (auto& r : with_common_errors(route)) {
    key(w, std::to_string(r.status));
    w.StartObject();
    member(w, "description", r.description);
    if (!r.schema.empty())
      content_of(w, r.schema);
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
}

} // namespace

std::string make_openapi(const std::vector<rest_route>& routes) {
  rapidjson::StringBuffer buf;
  writer w{buf};
  w.SetIndent(' ', 2);
  w.StartObject();
  member(w, "openapi", "3.1.0");
  key(w, "info");
  raw_json(
    w,
    R"({"title":"Parley","version":"0.3.0","description":"Chat and agent runs over REST and Server-Sent Events, and the resources that shape an agent. The WebSocket channel (/ws/chat) is described in docs/protocol.md; both channels drive the same actors.","license":{"name":"Proprietary","identifier":"LicenseRef-Proprietary"}})");
  key(w, "paths");
  w.StartObject();
  // Group operations by path, in table order.
  std::vector<std::string> order;
  std::map<std::string, std::vector<const rest_route*>> by_path;
  for (auto& route : routes) {
    if (by_path[route.pattern].empty())
      order.push_back(route.pattern);
    by_path[route.pattern].push_back(&route);
  }
  for (auto& path : order) {
    key(w, path);
    w.StartObject();
    for (auto* route : by_path[path])
      operation(w, *route);
    w.EndObject();
  }
  w.EndObject();
  key(w, "components");
  w.StartObject();
  key(w, "schemas");
  w.StartObject();
  for (auto& kind : resource_kinds()) {
    key(w, kind.schema.name);
    object_schema_of(w, kind.schema, true);
  }
  for (auto* body : {&run_agent_body(), &chat_send_body(),
                     &template_resolve_body(), &api_key_body()}) {
    key(w, body->name);
    object_schema_of(w, *body, false);
  }
  for (auto& [name, json] : fixed_schemas()) {
    key(w, name);
    raw_json(w, json);
  }
  w.EndObject();
  key(w, "securitySchemes");
  raw_json(
    w,
    R"({"bearer":{"type":"http","scheme":"bearer","description":"An API key (parleyd keys create) or a JWT from the configured identity provider. WebSocket upgrades and event streams may carry it as ?token= instead (browsers cannot set headers there)."}})");
  w.EndObject();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

} // namespace parley
