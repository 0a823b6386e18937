// The route table: which route a path reaches, 405 with Allow, and the
// OpenAPI document made from the same table.
#include <set>

#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include "protocol/resources.hpp"
#include "transport/http_routes.hpp"
#include "transport/openapi.hpp"

using namespace parley;
namespace http = boost::beast::http;

namespace {

struct routed {
  const rest_route* route = nullptr;
  std::vector<std::string> params;
  unsigned status = 0;
  std::string allow;
};

routed route_of(const std::vector<rest_route>& routes, http::verb method,
                std::string path) {
  http_request req{method, path, 11};
  routed out;
  auto found = match_route(routes, req, path, out.params);
  if (auto r = std::get_if<const rest_route*>(&found))
    out.route = *r;
  if (auto res = std::get_if<http_response>(&found)) {
    out.status = res->result_int();
    out.allow = std::string{(*res)[http::field::allow]};
  }
  return out;
}

} // namespace

TEST_CASE("literal segments win over parameters", "[transport][routes]") {
  auto routes = all_routes();
  auto r = route_of(routes, http::verb::get, "/api/modules/plugin-functions");
  REQUIRE(r.route);
  CHECK(r.route->pattern == "/api/modules/plugin-functions");
  r = route_of(routes, http::verb::get, "/api/modules/abc");
  REQUIRE(r.route);
  CHECK(r.route->pattern == "/api/modules/{id}");
  CHECK(r.params == std::vector<std::string>{"abc"});
  r = route_of(routes, http::verb::get, "/api/conversations/by-persona/p-1");
  REQUIRE(r.route);
  CHECK(r.route->pattern == "/api/conversations/by-persona/{persona_id}");
  CHECK(r.params == std::vector<std::string>{"p-1"});
}

TEST_CASE("a known path with another method is 405 naming the methods",
          "[transport][routes]") {
  auto routes = all_routes();
  auto r = route_of(routes, http::verb::patch, "/api/personas/x");
  CHECK_FALSE(r.route);
  CHECK(r.status == 405);
  CHECK(r.allow == "GET, PUT, DELETE, OPTIONS");
  // GET on the upload route does not fall through to /{id}.
  r = route_of(routes, http::verb::get, "/api/personas/upload-image");
  CHECK(r.status == 405);
  CHECK(r.allow == "POST, OPTIONS");
}

TEST_CASE("unknown paths match nothing", "[transport][routes]") {
  auto routes = all_routes();
  // A target must start with '/': "Xapi/personas" is not /api/personas
  // (found by tests/fuzz/http_router_fuzz.cpp).
  for (auto path : {"/api", "/api/nope", "/api/personas/a/b/c", "/api/agent/x",
                    "/api/personas/", "Xapi/personas", "*api/personas", ""}) {
    auto r = route_of(routes, http::verb::get, path);
    CHECK_FALSE(r.route);
    CHECK(r.status == 0);
  }
}

TEST_CASE("the OpenAPI document lists every route and every kind",
          "[transport][openapi]") {
  auto routes = all_routes();
  auto text = make_openapi(routes);
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  CHECK(std::string{doc["openapi"].GetString()} == "3.1.0");
  auto& paths = doc["paths"];
  std::set<std::string> operation_ids;
  for (auto& route : routes) {
    INFO(route.pattern);
    REQUIRE(paths.HasMember(route.pattern.c_str()));
    std::string method{http::to_string(route.method)};
    for (auto& c : method)
      c = static_cast<char>(std::tolower(c));
    auto& op = paths[route.pattern.c_str()][method.c_str()];
    REQUIRE(op.IsObject());
    CHECK(operation_ids.insert(op["operationId"].GetString()).second);
  }
  auto& schemas = doc["components"]["schemas"];
  for (auto& kind : resource_kinds())
    CHECK(schemas.HasMember(kind.schema.name.c_str()));
  // Every $ref points at a component that exists.
  size_t at = 0;
  while ((at = text.find("#/components/schemas/", at)) != std::string::npos) {
    at += 21;
    auto name = text.substr(at, text.find('"', at) - at);
    INFO(name);
    CHECK(schemas.HasMember(name.c_str()));
  }
}
