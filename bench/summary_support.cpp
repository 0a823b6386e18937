#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <rapidjson/pointer.h>

#include "summary.hpp"

namespace parley::bench {

double key_of(const Value& run, const char* key) {
  auto* v = rapidjson::Pointer(key).Get(run);
  return v && v->IsNumber() ? v->GetDouble() : 0;
}

const Value* median_run(const Value& runs, const char* key) {
  if (runs.IsObject())
    return &runs;
  if (!runs.IsArray() || runs.Empty())
    return nullptr;
  std::vector<const Value*> xs;
  for (auto& r : runs.GetArray())
    xs.push_back(&r);
  std::sort(xs.begin(), xs.end(), [key](const Value* a, const Value* b) {
    return key_of(*a, key) < key_of(*b, key);
  });
  return xs[(xs.size() - 1) / 2];
}

std::optional<result> load(const std::string& path, const char* key,
                           const std::string& first,
                           const std::string& second) {
  std::ifstream in{path};
  if (!in)
    return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  std::optional<result> res{std::in_place};
  res->doc.Parse(text.str().c_str());
  auto& doc = res->doc;
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember(first.c_str())
      || !doc.HasMember(second.c_str()))
    return std::nullopt;
  res->name[0] = first;
  res->name[1] = second;
  res->run[0] = median_run(doc[first.c_str()], key);
  res->run[1] = median_run(doc[second.c_str()], key);
  if (doc[first.c_str()].IsArray())
    res->runs = doc[first.c_str()].Size();
  return res;
}

std::optional<double> number(const std::optional<result>& res,
                             const std::string& server,
                             const std::string& ptr) {
  if (!res || !res->of(server))
    return std::nullopt;
  auto* v = rapidjson::Pointer(ptr.c_str()).Get(*res->of(server));
  if (!v || !v->IsNumber())
    return std::nullopt;
  return v->GetDouble();
}

std::string text_at(const std::optional<result>& res, const std::string& server,
                    const std::string& ptr) {
  if (!res || !res->of(server))
    return "–";
  auto* v = rapidjson::Pointer(ptr.c_str()).Get(*res->of(server));
  if (!v)
    return "–";
  if (v->IsString())
    return v->GetString();
  if (v->IsBool())
    return v->GetBool() ? "yes" : "no";
  return "–";
}

std::string fmt(std::optional<double> v, int decimals) {
  if (!v)
    return "–";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, *v);
  return buf;
}

void print(const std::vector<row>& rows, const std::string& first,
           const std::string& second) {
  std::cout << "| metric | target | " << first << " | " << second << " | "
            << first << " / " << second
            << " | meets target |\n|---|---|---|---|---|---|\n";
  for (auto& r : rows)
    std::cout << "| " << r.metric << " | " << r.target << " | " << r.first
              << " | " << r.second << " | " << r.ratio << " | " << r.verdict
              << " |\n";
}

std::string ratio(std::optional<double> a, std::optional<double> b) {
  if (!a || !b || *b == 0)
    return "–";
  return fmt(*a / *b, 2);
}

std::string verdict(std::optional<double> v,
                    const std::function<bool(double)>& ok) {
  if (!v)
    return "–";
  return ok(*v) ? "yes" : "**no**";
}

row pair(const std::optional<result>& doc, std::string metric,
         const std::string& ptr, int decimals, std::string target,
         double scale) {
  if (!doc)
    return {
      std::move(metric), target.empty() ? "–" : target, "–", "–", "–", "–"};
  auto p = number(doc, doc->name[0], ptr);
  auto c = number(doc, doc->name[1], ptr);
  if (p)
    *p *= scale;
  if (c)
    *c *= scale;
  return {std::move(metric), target.empty() ? "–" : target,
          fmt(p, decimals),  fmt(c, decimals),
          ratio(p, c),       "–"};
}

} // namespace parley::bench
