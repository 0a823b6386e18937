#include "transport/json_body.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include "protocol/codec.hpp"
#include "protocol/utf8.hpp"

namespace parley {

std::variant<std::string, decode_error> string_member(std::string_view body,
                                                      const char* field) {
  auto fail = [](error_code code, std::string message, std::string field = {}) {
    return decode_error{code, std::move(message), {}, std::move(field)};
  };
  if (exceeds_depth(body, max_json_depth))
    return fail(error_code::bad_json, "JSON nests too deeply");
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(body.data(), body.size());
  if (doc.HasParseError())
    return fail(error_code::bad_json,
                std::string{"body is not valid JSON: "}
                  + rapidjson::GetParseError_En(doc.GetParseError()));
  if (!doc.IsObject())
    return fail(error_code::bad_json, "body must be a JSON object");
  auto member = doc.FindMember(field);
  if (member == doc.MemberEnd())
    return fail(error_code::invalid_field,
                std::string{"missing field '"} + field + "'", field);
  if (!member->value.IsString())
    return fail(error_code::invalid_field,
                std::string{"field '"} + field + "' must be a string", field);
  std::string value{member->value.GetString(), member->value.GetStringLength()};
  if (!is_valid_utf8(value))
    return fail(error_code::invalid_field,
                std::string{"field '"} + field
                  + "' is not valid Unicode (a lone surrogate escape?)",
                field);
  return value;
}

} // namespace parley
