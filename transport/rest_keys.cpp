// /api/keys: admins make, list and revoke API keys over REST, as
// `parleyd keys` does from a shell. The keys actor does the work; a new
// key's secret appears once, in the 201 that made it.
#include <boost/beast/http.hpp>
#include <caf/all.hpp>

#include "protocol/ids.hpp"
#include "transport/rest_support.hpp"
#include "transport/transport_context.hpp"

namespace http = boost::beast::http;

namespace parley {

namespace {

std::string key_json(const api_key_info& key) {
  std::string json = R"({"id":)" + json_string(key.id) + R"(,"user":)"
                     + json_string(key.user) + R"(,"admin":)"
                     + (key.admin ? "true" : "false") + R"(,"created_at":)"
                     + json_string(to_iso8601(key.created_at_ms));
  if (!key.key.empty())
    json += R"(,"key":)" + json_string(key.key);
  return json + "}";
}

route_result list_keys(rest_call& call) {
  return ask<std::vector<api_key_info>>(
    call, call.ctx.deps.keys,
    [](reply_to to, std::vector<api_key_info>& keys) {
      std::string json = "[";
      for (auto& key : keys) {
        if (json.size() > 1)
          json += ',';
        json += key_json(key);
      }
      return json_response(to, http::status::ok, json + "]");
    },
    list_atom::value);
}

route_result create_key(rest_call& call) {
  auto checked = checked_body(call, api_key_body());
  if (auto res = std::get_if<http_response>(&checked))
    return std::move(*res);
  auto& body = std::get<validated_object>(checked);
  return ask<api_key_info>(
    call, call.ctx.deps.keys,
    [](reply_to to, api_key_info& key) {
      auto res = json_response(to, http::status::created, key_json(key));
      res.set(http::field::location, "/api/keys/" + key.id);
      res.set(http::field::cache_control, "no-store");
      return res;
    },
    create_atom::value, body.text("user"), body.text("admin") == "true");
}

route_result revoke_key(rest_call& call) {
  return ask<caf::ok_atom>(
    call, call.ctx.deps.keys,
    [](reply_to to, caf::ok_atom) {
      return empty_response(to, http::status::no_content);
    },
    res_del_atom::value, call.params[0]);
}

} // namespace

std::vector<rest_route> key_routes() {
  using v = http::verb;
  return {
    {v::get,
     "/api/keys",
     "keys",
     "The API keys (without their secrets)",
     "",
     {},
     {{200, "the keys", "ApiKey[]"}},
     list_keys,
     route_access::admin},
    {v::post,
     "/api/keys",
     "keys",
     "Make an API key; its secret is in this answer only",
     "ApiKeyRequest",
     {},
     {{201, "the key, with its secret", "ApiKey"},
      {422, "a bad user name", "Error"}},
     create_key,
     route_access::admin},
    {v::delete_,
     "/api/keys/{key_id}",
     "keys",
     "Revoke an API key (every node stops taking it within seconds)",
     "",
     {{"key_id", "path", "string", "the key's id (16 hex digits)"}},
     {{204, "revoked", ""}, {404, "no such key", "Error"}},
     revoke_key,
     route_access::admin},
  };
}

} // namespace parley
