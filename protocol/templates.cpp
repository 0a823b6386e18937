#include "protocol/templates.hpp"

#include <algorithm>
#include <optional>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "protocol/codec.hpp"

namespace parley {

namespace {

bool is_module_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

bool is_word_char(char c) {
  return is_module_char(c) || (c >= 'A' && c <= 'Z')
         || static_cast<unsigned char>(c) >= 0x80;
}

bool is_variable_char(char c) {
  return is_word_char(c) || c == '.' || c == '-';
}

decode_error refuse(std::string message, std::string field = "template") {
  return decode_error{
    error_code::validation_failed, std::move(message), {}, std::move(field)};
}

class resolver {
 public:
  resolver(const string_map& modules, const string_map& variables)
    : modules_(modules), variables_(variables) {}

  std::optional<decode_error> run(std::string_view text) {
    for (size_t i = 0; i < text.size();) {
      if (out_.text.size() > max_resolved_bytes)
        return refuse("the resolved template is over "
                      + std::to_string(max_resolved_bytes) + " bytes");
      char c = text[i];
      bool starts_word = i == 0 || !is_word_char(text[i - 1]);
      if (c == '@' && starts_word && i + 1 < text.size()
          && is_module_char(text[i + 1])) {
        auto end = i + 1;
        while (end < text.size() && is_module_char(text[end]))
          ++end;
        if (auto err = include(text.substr(i + 1, end - i - 1)))
          return err;
        i = end;
      } else if (c == '$' && i + 1 < text.size() && text[i + 1] == '{') {
        auto close = text.find('}', i + 2);
        auto name = close == std::string_view::npos
                      ? std::string_view{}
                      : text.substr(i + 2, close - i - 2);
        if (name.empty()
            || !std::all_of(name.begin(), name.end(), is_variable_char)) {
          out_.text += c; // not a variable: keep the text as written
          ++i;
          continue;
        }
        auto value = variables_.find(name);
        if (value == variables_.end())
          return refuse("unknown variable '" + std::string{name} + "'",
                        "variables");
        out_.text += value->second;
        i = close + 1;
      } else {
        out_.text += c;
        ++i;
      }
    }
    return std::nullopt;
  }

  resolved_template take() { return std::move(out_); }

 private:
  std::optional<decode_error> include(std::string_view name) {
    auto module = modules_.find(name);
    if (module == modules_.end())
      return refuse("unknown module '@" + std::string{name} + "'");
    if (std::find(stack_.begin(), stack_.end(), name) != stack_.end()) {
      std::string path;
      for (auto& x : stack_)
        path += "@" + x + " -> ";
      return refuse("modules include each other: " + path + "@"
                    + std::string{name});
    }
    if (stack_.size() >= max_module_depth)
      return refuse("modules nest deeper than "
                    + std::to_string(max_module_depth));
    // Modules that each include the next twice double the work per level
    // while the text stays empty, which the size limit never sees.
    if (++includes_ > max_includes)
      return refuse("the template includes modules more than "
                    + std::to_string(max_includes) + " times");
    if (std::find(out_.modules_used.begin(), out_.modules_used.end(), name)
        == out_.modules_used.end())
      out_.modules_used.emplace_back(name);
    stack_.emplace_back(name);
    auto err = run(module->second);
    stack_.pop_back();
    return err;
  }

  const string_map& modules_;
  const string_map& variables_;
  std::vector<std::string> stack_;
  size_t includes_ = 0;
  resolved_template out_;
};

} // namespace

std::variant<resolved_template, decode_error>
resolve_template(std::string_view text, const string_map& modules,
                 const string_map& variables) {
  resolver r{modules, variables};
  if (auto err = r.run(text))
    return *err;
  return r.take();
}

std::variant<std::monostate, decode_error> add_scalars(std::string_view json,
                                                       std::string_view prefix,
                                                       std::string_view field,
                                                       string_map& out) {
  if (exceeds_depth(json, max_json_depth))
    return refuse("must be a JSON object nested at most "
                    + std::to_string(max_json_depth) + " levels",
                  std::string{field});
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject())
    return refuse("must be a JSON object", std::string{field});
  for (auto& m : doc.GetObject()) {
    std::string name{prefix};
    name.append(m.name.GetString(), m.name.GetStringLength());
    auto& v = m.value;
    if (v.IsNull())
      continue;
    if (v.IsString()) {
      out[name] = std::string{v.GetString(), v.GetStringLength()};
    } else if (v.IsBool()) {
      out[name] = v.GetBool() ? "true" : "false";
    } else if (v.IsNumber()) {
      rapidjson::StringBuffer buf;
      rapidjson::Writer<rapidjson::StringBuffer> w{buf};
      v.Accept(w);
      out[name] = std::string{buf.GetString(), buf.GetSize()};
    } else if (prefix.empty()) {
      return refuse("variable '" + name
                      + "' must be a string, number or boolean",
                    std::string{field});
    }
  }
  return std::monostate{};
}

} // namespace parley
