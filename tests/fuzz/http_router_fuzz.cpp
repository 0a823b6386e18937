// libFuzzer target: the bytes are what a client sends on a fresh HTTP/1.1
// connection. Beast's parser reads them with the server's limits (1 MiB
// body, 16 KiB headers); a request that parses is taken apart and routed
// the way route_request does: split_target, the /ws/chat checks
// (is_valid_session_id, query_param + percent_decode + UTF-8), the query
// parameters the handlers read, and match_route.
//
// The route table: linking the real one (all_routes() in http_routes.cpp)
// would pull in every handler, hence the actors, CAF's runtime and the whole
// transport, minutes of clang+ASan compiling. Routing depends only on each
// entry's method and pattern, so the table below repeats the patterns of
// http_routes.cpp and rest_agent.cpp and builds the resource routes from
// resource_kinds() exactly as rest_resources.cpp does; match_route itself is
// the real one (transport/rest_router.cpp). Its answer is checked against an
// independent matcher written here.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <rapidjson/document.h>

#include "fuzz_check.hpp"
#include "protocol/resources.hpp"
#include "protocol/utf8.hpp"
#include "transport/rest_route.hpp"
#include "transport/url.hpp"

namespace http = boost::beast::http;
using namespace parley;

namespace {

// The defaults of server_config (transport/server.hpp).
constexpr size_t max_body_bytes = 1 << 20;
constexpr uint32_t max_header_bytes = 16 << 10;

rest_route entry(http::verb method, std::string pattern) {
  rest_route r;
  r.method = method;
  r.pattern = std::move(pattern);
  return r;
}

std::vector<rest_route> make_routes() {
  using v = http::verb;
  std::vector<rest_route> routes;
  // system_routes() in http_routes.cpp
  for (auto p :
       {"/health", "/ready", "/connections", "/ws/chat",
        "/ws/chat/{session_id}", "/openapi.json", "/docs", "/docs/{file}"})
    routes.push_back(entry(v::get, p));
  routes.push_back(entry(v::post, "/broadcast"));
  // agent_routes() in rest_agent.cpp
  routes.push_back(entry(v::post, "/api/agent/run_agent"));
  routes.push_back(entry(v::get, "/api/agent/{run_id}/status"));
  routes.push_back(entry(v::get, "/api/agent/{run_id}/stream"));
  routes.push_back(entry(v::post, "/api/agent/{run_id}/cancel"));
  routes.push_back(entry(v::get, "/api/agent/{run_id}/events"));
  routes.push_back(entry(v::post, "/api/chat/send"));
  // resource_routes() in rest_resources.cpp
  routes.push_back(entry(v::get, "/api/modules/plugin-functions"));
  routes.push_back(entry(v::post, "/api/personas/upload-image"));
  routes.push_back(entry(v::get, "/api/personas/images/{file}"));
  routes.push_back(entry(v::delete_, "/api/conversations/{id}/memories"));
  routes.push_back(entry(v::post, "/api/templates/resolve"));
  for (auto& kind : resource_kinds()) {
    auto base = "/api/" + kind.kind;
    routes.push_back(entry(v::get, base));
    routes.push_back(entry(v::post, base));
    routes.push_back(entry(v::get, base + "/{id}"));
    routes.push_back(entry(v::put, base + "/{id}"));
    routes.push_back(entry(v::delete_, base + "/{id}"));
    for (auto& by : kind.lookups)
      routes.push_back(
        entry(v::get, base + "/" + by.path + "/{" + by.field + "}"));
  }
  return routes;
}

// -- an independent matcher --------------------------------------------------

std::vector<std::string_view> split_path(std::string_view path) {
  // `path` starts with '/': every segment follows one.
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < path.size()) {
    auto end = path.find('/', start + 1);
    if (end == std::string_view::npos)
      end = path.size();
    out.push_back(path.substr(start + 1, end - start - 1));
    start = end;
  }
  return out;
}

bool is_param(std::string_view seg) {
  return seg.size() > 2 && seg.front() == '{';
}

/// -1, or the number of literal segments of `pattern` when it fits `path`.
int reference_fit(std::string_view pattern, std::string_view path) {
  if (path.empty() || path.front() != '/')
    return -1;
  auto want = split_path(pattern);
  auto have = split_path(path);
  if (want.size() != have.size())
    return -1;
  int literal = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (is_param(want[i])) {
      if (have[i].empty())
        return -1;
    } else if (want[i] == have[i]) {
      ++literal;
    } else {
      return -1;
    }
  }
  return literal;
}

/// The pattern with its `{params}` replaced by `params`, in order.
std::string fill(std::string_view pattern,
                 const std::vector<std::string>& params) {
  std::string out;
  size_t next = 0;
  for (auto seg : split_path(pattern)) {
    out += '/';
    if (is_param(seg)) {
      FUZZ_CHECK(next < params.size());
      out += params[next++];
    } else {
      out += seg;
    }
  }
  FUZZ_CHECK(next == params.size());
  return out;
}

void check_match(const std::vector<rest_route>& routes, const http_request& req,
                 std::string_view path) {
  int best = -1;
  for (auto& r : routes)
    best = std::max(best, reference_fit(r.pattern, path));
  std::vector<std::string> params;
  auto found = match_route(routes, req, path, params);
  if (std::holds_alternative<std::monostate>(found)) {
    FUZZ_CHECK(best < 0);
    return;
  }
  FUZZ_CHECK(best >= 0);
  if (auto* route = std::get_if<const rest_route*>(&found)) {
    FUZZ_CHECK((*route)->method == req.method());
    FUZZ_CHECK(reference_fit((*route)->pattern, path) == best);
    for (auto& p : params)
      FUZZ_CHECK(!p.empty() && p.find('/') == std::string::npos);
    FUZZ_CHECK(fill((*route)->pattern, params) == path);
    return;
  }
  // 405: the path fits, no best-fitting route takes the method.
  auto& res = std::get<http_response>(found);
  FUZZ_CHECK(res.result() == http::status::method_not_allowed);
  for (auto& r : routes)
    if (reference_fit(r.pattern, path) == best)
      FUZZ_CHECK(r.method != req.method());
  auto allow = res[http::field::allow];
  FUZZ_CHECK(allow.size() >= 9);
  FUZZ_CHECK(allow.substr(allow.size() - 9) == ", OPTIONS");
  rapidjson::Document doc;
  doc.Parse(res.body().data(), res.body().size());
  FUZZ_CHECK(!doc.HasParseError() && doc.IsObject());
}

// -- the target's parts ------------------------------------------------------

void check_decode(std::string_view raw, bool plus_is_space) {
  auto decoded = percent_decode(raw, plus_is_space);
  if (!decoded)
    return;
  FUZZ_CHECK(decoded->size() <= raw.size());
  if (raw.find('%') == std::string_view::npos && !plus_is_space)
    FUZZ_CHECK(*decoded == raw);
  // Encoding every byte and decoding again gives the same bytes.
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string encoded;
  for (unsigned char c : *decoded) {
    encoded += '%';
    encoded += hex[c >> 4];
    encoded += hex[c & 15];
  }
  auto again = percent_decode(encoded, plus_is_space);
  FUZZ_CHECK(again && *again == *decoded);
}

void check_query(std::string_view query, std::string_view key) {
  auto value = query_param(query, key);
  if (!value)
    return;
  // A view into the query, within one `&`-separated pair.
  FUZZ_CHECK(
    value->empty()
    || (value->data() >= query.data()
        && value->data() + value->size() <= query.data() + query.size()));
  FUZZ_CHECK(value->find('&') == std::string_view::npos);
  check_decode(*value, true);
}

/// What websocket_entry (http_routes.cpp) checks before upgrading.
void check_ws(const http_request& req, std::string_view path,
              std::string_view query) {
  constexpr std::string_view prefix = "/ws/chat";
  if (path.substr(0, prefix.size()) != prefix
      || (path.size() != prefix.size() && path[prefix.size()] != '/'))
    return;
  auto rest = path.substr(prefix.size());
  auto id = rest.empty() ? rest : rest.substr(1);
  if (!rest.empty() && is_valid_session_id(id)) {
    FUZZ_CHECK(id.size() >= 1 && id.size() <= 128);
    FUZZ_CHECK(is_valid_utf8(id));
    FUZZ_CHECK(id.find('/') == std::string_view::npos);
  }
  if (auto raw = query_param(query, "agent_name"))
    if (auto agent = percent_decode(*raw, true))
      (void)is_valid_utf8(*agent);
  (void)boost::beast::websocket::is_upgrade(req);
}

void route(const http_request& req) {
  static const auto routes = make_routes();
  auto target = std::string_view{req.target().data(), req.target().size()};
  auto [path, query] = split_target(target);
  auto mark = target.find('?');
  if (mark == std::string_view::npos)
    FUZZ_CHECK(path == target && query.empty());
  else
    FUZZ_CHECK(path == target.substr(0, mark)
               && query == target.substr(mark + 1));
  check_decode(path, false);
  for (auto key : {"limit", "offset", "stream", "last_event_id", "action",
                   "after", "agent_name", "conversation_id"})
    check_query(query, key);
  if (req.method() == http::verb::options)
    return; // preflight: answered before routing
  check_ws(req, path, query);
  check_match(routes, req, path);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  http::request_parser<http::string_body> parser;
  parser.body_limit(max_body_bytes);
  parser.header_limit(max_header_bytes);
  parser.eager(true);
  boost::beast::error_code ec;
  auto buf = boost::asio::buffer(data, size);
  while (buf.size() > 0 && !parser.is_done()) {
    auto used = parser.put(buf, ec);
    if (ec == http::error::need_more && used == 0)
      break;
    if (ec && ec != http::error::need_more)
      return 0;
    buf += used;
  }
  if (!parser.is_done()) {
    // The peer closed the connection here.
    parser.put_eof(ec);
    if (ec || !parser.is_done())
      return 0;
  }
  auto req = parser.release();
  route(req);
  return 0;
}
