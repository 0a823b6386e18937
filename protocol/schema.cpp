#include "protocol/schema.hpp"

#include <algorithm>
#include <cmath>
#include <regex>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "protocol/codec.hpp"
#include "protocol/ids.hpp"
#include "protocol/json_numbers.hpp"
#include "protocol/utf8.hpp"

namespace parley {

namespace {

/// A regex longer than this is refused before std::regex sees it: compiling
/// is recursive in the pattern's length.
constexpr size_t max_regex_length = 1000;

field_spec make_field(std::string name, field_type type) {
  field_spec out;
  out.name = std::move(name);
  out.type = type;
  return out;
}

decode_error invalid(const field_spec& spec, std::string why) {
  return decode_error{error_code::validation_failed,
                      "field '" + spec.name + "' " + std::move(why),
                      {},
                      spec.name};
}

std::string to_json_text(const rapidjson::Value& value) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  value.Accept(w);
  return {buf.GetString(), buf.GetSize()};
}

size_t code_points(std::string_view text) {
  size_t n = 0;
  for (unsigned char c : text)
    n += (c & 0xC0) != 0x80;
  return n;
}

bool compiles_as_regex(const std::string& text) {
  if (text.size() > max_regex_length)
    return false;
  try {
    std::regex re{text, std::regex::ECMAScript};
    return true;
  } catch (const std::regex_error&) {
    return false;
  }
}

bool utf8_everywhere(const rapidjson::Value& value) {
  if (value.IsString())
    return is_valid_utf8({value.GetString(), value.GetStringLength()});
  if (value.IsArray()) {
    for (auto& x : value.GetArray())
      if (!utf8_everywhere(x))
        return false;
  } else if (value.IsObject()) {
    for (auto& m : value.GetObject())
      if (!utf8_everywhere(m.name) || !utf8_everywhere(m.value))
        return false;
  }
  return true;
}

std::optional<decode_error> check_string(const field_spec& spec,
                                         const std::string& text) {
  if (!is_valid_utf8(text))
    return invalid(spec, "is not valid Unicode");
  auto n = code_points(text);
  if (n < spec.min_length)
    return invalid(spec,
                   "must be at least " + std::to_string(spec.min_length)
                     + (spec.min_length == 1 ? " character" : " characters"));
  if (spec.max_length > 0 && n > spec.max_length)
    return invalid(spec, "must be at most " + std::to_string(spec.max_length)
                           + " characters");
  if (!spec.allowed.empty()
      && std::find(spec.allowed.begin(), spec.allowed.end(), text)
           == spec.allowed.end()) {
    std::string options;
    for (auto& x : spec.allowed)
      options += (options.empty() ? "" : ", ") + x;
    return invalid(spec, "must be one of: " + options);
  }
  if (!spec.pattern.empty()
      && !std::regex_match(text, std::regex{spec.pattern}))
    return invalid(spec, "must match " + spec.pattern);
  if (spec.must_be_regex && !compiles_as_regex(text))
    return invalid(spec, "is not a valid regular expression (ECMAScript, at "
                         "most 1000 characters)");
  if (spec.type == field_type::id && !is_uuid(text))
    return invalid(spec, "must be a UUID");
  return std::nullopt;
}

std::optional<decode_error> check_number(const field_spec& spec, double x) {
  if (spec.minimum && x < *spec.minimum)
    return invalid(spec, "must be at least " + to_json_number(*spec.minimum));
  if (spec.maximum && x > *spec.maximum)
    return invalid(spec, "must be at most " + to_json_number(*spec.maximum));
  return std::nullopt;
}

/// Checks one present, non-null member against its spec and fills `out`.
std::optional<decode_error> read_member(const field_spec& spec,
                                        const rapidjson::Value& value,
                                        field_value& out) {
  out.is_null = false;
  switch (spec.type) {
    case field_type::string:
    case field_type::id: {
      if (!value.IsString())
        return invalid(spec, "must be a string");
      out.text.assign(value.GetString(), value.GetStringLength());
      if (auto err = check_string(spec, out.text))
        return err;
      break;
    }
    case field_type::integer: {
      if (!value.IsInt64())
        return invalid(spec, "must be an integer");
      if (auto err = check_number(spec, static_cast<double>(value.GetInt64())))
        return err;
      out.text = std::to_string(value.GetInt64());
      break;
    }
    case field_type::number: {
      if (!value.IsNumber())
        return invalid(spec, "must be a number");
      if (auto err = check_number(spec, value.GetDouble()))
        return err;
      out.text = to_json_text(value);
      break;
    }
    case field_type::boolean:
      if (!value.IsBool())
        return invalid(spec, "must be true or false");
      out.text = value.GetBool() ? "true" : "false";
      break;
    case field_type::object:
      if (!value.IsObject())
        return invalid(spec, "must be a JSON object");
      if (!utf8_everywhere(value))
        return invalid(spec, "is not valid Unicode");
      break;
  }
  out.json = to_json_text(value);
  return std::nullopt;
}

} // namespace

std::string to_json_number(double x) {
  if (std::isfinite(x) && x == std::floor(x) && std::fabs(x) < 1e15)
    return std::to_string(static_cast<int64_t>(x));
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  w.Double(x);
  return {buf.GetString(), buf.GetSize()};
}

const char* json_type_name(field_type type) noexcept {
  switch (type) {
    case field_type::string:
    case field_type::id: return "string";
    case field_type::integer: return "integer";
    case field_type::number: return "number";
    case field_type::boolean: return "boolean";
    case field_type::object: return "object";
  }
  return "string";
}

field_spec field_spec::text(std::string name) {
  return make_field(std::move(name), field_type::string);
}

field_spec field_spec::integer(std::string name) {
  return make_field(std::move(name), field_type::integer);
}

field_spec field_spec::number(std::string name) {
  return make_field(std::move(name), field_type::number);
}

field_spec field_spec::boolean(std::string name) {
  return make_field(std::move(name), field_type::boolean);
}

field_spec field_spec::object(std::string name) {
  return make_field(std::move(name), field_type::object);
}

field_spec field_spec::choice(std::string name,
                              std::vector<std::string> values) {
  auto out = make_field(std::move(name), field_type::string);
  out.allowed = std::move(values);
  return out;
}

field_spec field_spec::ref(std::string name, std::string kind) {
  auto out = make_field(std::move(name), field_type::id);
  out.references = std::move(kind);
  out.is_indexed = !out.references.empty();
  return out;
}

const field_spec* object_schema::find(std::string_view field) const noexcept {
  for (auto& spec : fields)
    if (spec.name == field)
      return &spec;
  return nullptr;
}

const field_value*
validated_object::get(std::string_view field) const noexcept {
  for (auto& [name, value] : values)
    if (name == field)
      return &value;
  return nullptr;
}

std::string validated_object::text(std::string_view field) const {
  auto value = get(field);
  return value && !value->is_null ? value->text : std::string{};
}

bool validated_object::has(std::string_view field) const noexcept {
  auto value = get(field);
  return value && !value->is_null;
}

std::string validated_object::to_json() const {
  std::string out = "{";
  for (auto& [name, value] : values) {
    if (out.size() > 1)
      out += ',';
    out += '"';
    out += json_escape(name);
    out += "\":";
    out += value.is_null ? "null" : value.json;
  }
  out += '}';
  return out;
}

validation_result validate(const object_schema& schema, std::string_view body) {
  auto bad_json = [](std::string message) {
    return decode_error{error_code::bad_json, std::move(message), {}, {}};
  };
  if (exceeds_depth(body, max_json_depth))
    return bad_json("JSON nests deeper than " + std::to_string(max_json_depth));
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(body.data(), body.size());
  if (doc.HasParseError())
    return bad_json(std::string{"body is not valid JSON: "}
                    + rapidjson::GetParseError_En(doc.GetParseError()));
  if (!doc.IsObject())
    return bad_json("body must be a JSON object");
  if (!all_numbers_finite(doc))
    return bad_json(
      "a number is too large to represent (beyond about 1.8e308)");
  for (auto& member : doc.GetObject()) {
    std::string_view name{member.name.GetString(),
                          member.name.GetStringLength()};
    if (schema.find(name) == nullptr
        && std::find(schema.read_only.begin(), schema.read_only.end(), name)
             == schema.read_only.end()) {
      std::string shown = is_valid_utf8(name) && name.size() <= 64
                            ? std::string{name}
                            : std::string{"(unreadable)"};
      return decode_error{error_code::validation_failed,
                          "unknown field '" + shown + "'",
                          {},
                          shown};
    }
  }
  validated_object out;
  out.values.reserve(schema.fields.size());
  for (auto& spec : schema.fields) {
    field_value value;
    auto it = doc.FindMember(spec.name.c_str());
    bool absent = it == doc.MemberEnd() || it->value.IsNull();
    if (absent && spec.is_required)
      return invalid(spec, "is required");
    if (absent && !spec.default_json.empty()) {
      rapidjson::Document fallback;
      fallback.Parse(spec.default_json.c_str());
      if (auto err = read_member(spec, fallback, value))
        return *err;
    } else if (!absent) {
      if (auto err = read_member(spec, it->value, value))
        return *err;
    }
    out.values.emplace_back(spec.name, std::move(value));
  }
  return out;
}

std::vector<reference> references_of(const object_schema& schema,
                                     const validated_object& obj) {
  std::vector<reference> out;
  for (auto& spec : schema.fields)
    if (!spec.references.empty() && obj.has(spec.name))
      out.push_back(reference{spec.name, spec.references, obj.text(spec.name)});
  return out;
}

} // namespace parley
