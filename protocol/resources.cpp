#include "protocol/resources.hpp"

#include "protocol/codec.hpp"
#include "protocol/ids.hpp"
#include "protocol/owner.hpp"

namespace parley {

namespace {

using field = field_spec;

std::vector<resource_kind> make_kinds() {
  std::vector<resource_kind> kinds;
  kinds.push_back(resource_kind{
    "personas",
    {"Persona",
     {field::text("name").required().length(1, 200),
      field::choice("mode", {"reactive", "autonomous"})
        .fallback(R"("reactive")")
        .indexed(),
      field::text("template")
        .describe("system prompt template; may use "
                  "@module_name and ${variable}"),
      field::text("description"), field::text("provider").length(0, 100),
      field::text("model").length(0, 200), field::object("provider_settings"),
      field::text("image_url")
        .length(0, 2048)
        .describe("as returned by POST /api/personas/upload-image"),
      field::boolean("is_active").fallback("true").indexed()}},
    {{"active", "is_active"}, {"mode", "mode"}},
    {},
    {},
    "Personas: who the agent is (its system prompt template and model)"});
  kinds.push_back(resource_kind{
    "modules",
    {"Module",
     {field::text("name")
        .required()
        .length(1, 100)
        .matches("[a-z0-9_]+")
        .unique()
        .describe("referenced in templates as @name"),
      field::choice("type", {"simple", "advanced"}).fallback(R"("simple")"),
      field::text("content"),
      field::text("trigger_pattern").regex().describe("ECMAScript regex"),
      field::choice("execution_context",
                    {"immediate", "post_response", "on_demand"})
        .fallback(R"("immediate")"),
      field::boolean("is_active").fallback("true").indexed()}},
    {{"active", "is_active"}},
    {},
    {},
    "Modules: reusable prompt parts, included in templates as @name"});
  kinds.push_back(resource_kind{
    "conversations",
    {"Conversation",
     {field::ref("persona_id", "personas")
        .required()
        .nullable()
        .describe("null for a conversation a chat began without a persona"),
      field::text("title").length(0, 500), field::object("provider_config"),
      field::text("agent_name")
        .length(0, 128)
        .describe("the agent chat runs use unless a run names another")}},
    {},
    {{"by-persona", "persona_id"}},
    {{"messages", "conversation_id"}},
    "Conversations: a chat's history; also made by WebSocket chats and runs"});
  kinds.push_back(resource_kind{
    "messages",
    {"Message",
     {field::ref("conversation_id", "conversations").required(),
      field::choice("role", {"user", "assistant", "system"}).required(),
      field::text("content").required(), field::text("thinking"),
      field::integer("token_count").range(0, 1e9),
      field::object("extra_metadata"),
      field::ref("run_id", "")
        .describe("the run that wrote or answered it, if any")}},
    {},
    {{"by-conversation", "conversation_id"}},
    {},
    "Messages: a conversation's turns, in order; chat answers appear here"});
  kinds.push_back(resource_kind{
    "constitutions",
    {"Constitution",
     {field::text("name").required().length(1, 200),
      field::text("content").required()}},
    {},
    {},
    {},
    "Constitutions: the rules a superego flow checks answers against"});
  kinds.push_back(resource_kind{"sysprompts",
                                {"SystemPrompt",
                                 {field::text("name").required().length(1, 200),
                                  field::text("content").required()}},
                                {},
                                {},
                                {},
                                "System prompts"});
  kinds.push_back(resource_kind{
    "flow-templates",
    {"FlowTemplate",
     {field::text("name").required().length(1, 200), field::text("description"),
      field::ref("constitution_id", "constitutions"),
      field::ref("sysprompt_id", "sysprompts"),
      field::boolean("superego_enabled").fallback("false")}},
    {},
    {},
    {},
    "Flow templates: a constitution and a system prompt, combined"});
  kinds.push_back(
    resource_kind{"flow-configs",
                  {"FlowConfig",
                   {field::text("name").required().length(1, 200),
                    field::ref("flow_template_id", "flow-templates"),
                    field::text("model").length(0, 200),
                    field::number("temperature").range(0, 2),
                    field::integer("max_tokens").range(1, 1000000)}},
                  {},
                  {},
                  {},
                  "Flow configs: a flow template with model settings"});
  kinds.push_back(
    resource_kind{"flow-instances",
                  {"FlowInstance",
                   {field::ref("flow_config_id", "flow-configs").required(),
                    field::text("name").length(0, 200),
                    field::ref("conversation_id", "conversations")}},
                  {},
                  {},
                  {},
                  "Flow instances: a flow config at work in a conversation"});
  for (auto& kind : kinds)
    kind.schema.read_only = {"id", "created_at", "updated_at"};
  return kinds;
}

object_schema make_run_agent_body() {
  return {"RunAgentRequest",
          {field::text("query").required().length(1, 100000),
           field::ref("id", "").describe(
             "client-chosen run id (UUID): makes the call idempotent"),
           field::ref("conversation_id", "")
             .describe("the conversation to run in; a new one when absent"),
           field::text("agent_name").length(1, 128),
           field::ref("persona_id", "personas"),
           field::choice("multitask_strategy",
                         {"reject", "enqueue", "interrupt", "rollback"})
             .fallback(R"("reject")")
             .describe("what happens to a run already in flight on the "
                       "conversation"),
           field::boolean("enable_reasoning").fallback("true")}};
}

object_schema make_chat_send_body() {
  return {"ChatSendRequest",
          {field::text("message").required().length(1, 100000),
           field::ref("conversation_id", ""),
           field::ref("persona_id", "personas"),
           field::text("agent_name").length(1, 128),
           field::text("provider").length(0, 100),
           field::object("provider_settings")}};
}

object_schema make_template_resolve_body() {
  return {"TemplateResolveRequest",
          {field::text("template").required().length(0, 100000),
           field::object("variables")
             .describe("values for ${name}; strings, numbers or booleans"),
           field::ref("persona_id", "personas")
             .describe("its fields are available as ${persona.name} etc.")}};
}

std::string quoted(std::string_view text) {
  std::string out = "\"";
  out += json_escape(text);
  out += '"';
  return out;
}

/// Builds a validated object from fields we produced ourselves.
validated_object
own_fields(const object_schema& schema,
           std::vector<std::pair<std::string, field_value>> given) {
  validated_object out;
  for (auto& spec : schema.fields) {
    field_value value;
    for (auto& [name, x] : given)
      if (name == spec.name)
        value = x;
    out.values.emplace_back(spec.name, std::move(value));
  }
  return out;
}

field_value string_value(std::string text) {
  if (text.empty())
    return {};
  return field_value{quoted(text), std::move(text), false};
}

} // namespace

const std::vector<resource_kind>& resource_kinds() {
  static const std::vector<resource_kind> kinds = make_kinds();
  return kinds;
}

const resource_kind* find_kind(std::string_view kind) noexcept {
  for (auto& x : resource_kinds())
    if (x.kind == kind)
      return &x;
  return nullptr;
}

object_schema make_api_key_body() {
  return {"ApiKeyRequest",
          {field::text("user").required().length(1, 200).describe(
             "who the key authenticates as: the owner of what it makes"),
           field::boolean("admin").fallback("false").describe(
             "admins may also manage keys, list connections and broadcast")}};
}

const object_schema& api_key_body() {
  static const object_schema schema = make_api_key_body();
  return schema;
}

const object_schema& run_agent_body() {
  static const object_schema schema = make_run_agent_body();
  return schema;
}

const object_schema& chat_send_body() {
  static const object_schema schema = make_chat_send_body();
  return schema;
}

const object_schema& template_resolve_body() {
  static const object_schema schema = make_template_resolve_body();
  return schema;
}

resource_doc make_doc(const resource_kind& kind, std::string id,
                      const validated_object& obj, int64_t created_at_ms,
                      int64_t updated_at_ms) {
  resource_doc doc;
  doc.kind = kind.kind;
  doc.created_at_ms = created_at_ms;
  doc.updated_at_ms = updated_at_ms;
  doc.json = R"({"id":)" + quoted(id);
  for (auto& [name, value] : obj.values) {
    doc.json += ",\"" + json_escape(name) + "\":";
    doc.json += value.is_null ? "null" : value.json;
  }
  doc.json += R"(,"created_at":)" + quoted(to_iso8601(created_at_ms));
  doc.json += R"(,"updated_at":)" + quoted(to_iso8601(updated_at_ms)) + "}";
  for (auto& spec : kind.schema.fields) {
    if (!obj.has(spec.name))
      continue;
    if (spec.is_indexed)
      doc.index.push_back(index_entry{spec.name, obj.text(spec.name)});
    if (spec.is_unique)
      doc.unique.push_back(index_entry{spec.name, obj.text(spec.name)});
  }
  doc.id = std::move(id);
  return doc;
}

resource_doc message_doc(const message_record& rec) {
  auto& kind = *find_kind("messages");
  field_value tokens{std::to_string(rec.token_count),
                     std::to_string(rec.token_count), false};
  auto obj = own_fields(
    kind.schema,
    {{"conversation_id", string_value(rec.conversation_id)},
     {"role", string_value(rec.role)},
     {"content", field_value{quoted(rec.content), rec.content, false}},
     {"thinking", string_value(rec.thinking)},
     {"token_count", tokens},
     {"run_id", string_value(rec.run_id)}});
  auto doc = make_doc(kind, rec.id, obj, rec.created_at_ms, rec.created_at_ms);
  doc.kind = scoped_kind(doc.kind, rec.owner);
  return doc;
}

resource_doc conversation_doc(const conversation_record& rec) {
  auto& kind = *find_kind("conversations");
  auto obj
    = own_fields(kind.schema, {{"persona_id", string_value(rec.persona_id)},
                               {"title", string_value(rec.title)},
                               {"agent_name", string_value(rec.agent_name)}});
  auto doc = make_doc(kind, rec.id, obj, rec.created_at_ms, rec.updated_at_ms);
  doc.kind = scoped_kind(doc.kind, rec.owner);
  return doc;
}

std::vector<cascade_rule> referrers_of(const resource_kind& target) {
  std::vector<cascade_rule> out;
  for (auto& kind : resource_kinds())
    for (auto& spec : kind.schema.fields) {
      if (spec.references != target.kind)
        continue;
      bool cascades = false;
      for (auto& rule : target.cascades)
        cascades |= rule.kind == kind.kind && rule.field == spec.name;
      if (!cascades)
        out.push_back(cascade_rule{kind.kind, spec.name});
    }
  return out;
}

} // namespace parley
