// The CRUD routes, made from the resource kinds' table: one loop, no
// per-kind handlers. A handler only translates HTTP into a message to the
// resources actor and its reply back into HTTP.
#include <filesystem>
#include <fstream>
#include <iterator>

#include <boost/beast/http.hpp>

#include "actors/agents/researcher.hpp"
#include "protocol/codec.hpp"
#include "protocol/resources.hpp"
#include "transport/rest_support.hpp"

namespace http = boost::beast::http;

namespace parley {

namespace {

constexpr uint64_t default_page = 50;
constexpr uint64_t max_page = 500;

std::string array_of(const std::vector<resource_doc>& docs) {
  std::string out = "[";
  for (auto& doc : docs) {
    if (out.size() > 1)
      out += ',';
    out += doc.json;
  }
  return out + "]";
}

http_response page_response(reply_to to, resource_page& page) {
  auto res = json_response(to, http::status::ok, array_of(page.items));
  res.set("X-Total-Count", std::to_string(page.total));
  return res;
}

/// Fills limit and offset from the query, or says why it cannot.
std::optional<http_response> read_paging(rest_call& call, resource_query& q) {
  auto limit = query_number(call, "limit", default_page, 1, max_page);
  if (auto res = std::get_if<http_response>(&limit))
    return std::move(*res);
  auto offset = query_number(call, "offset", 0, 0, UINT32_MAX);
  if (auto res = std::get_if<http_response>(&offset))
    return std::move(*res);
  q.limit = std::get<uint64_t>(limit);
  q.offset = std::get<uint64_t>(offset);
  return std::nullopt;
}

route_result list(rest_call& call, const resource_kind& kind) {
  resource_query q;
  q.kind = kind.kind;
  if (auto res = read_paging(call, q))
    return std::move(*res);
  for (auto& filter : kind.filters) {
    auto value = query_text(call, filter.param);
    if (!value)
      continue;
    if (!q.field.empty())
      return error_reply(call, error_code::validation_failed,
                         "filter by one of the query parameters at a time",
                         filter.param);
    auto* spec = kind.schema.find(filter.field);
    if (spec && spec->type == field_type::boolean && *value != "true"
        && *value != "false")
      return error_reply(call, error_code::validation_failed,
                         filter.param + " must be true or false", filter.param);
    q.field = filter.field;
    q.value = std::move(*value);
  }
  return ask<resource_page>(call, call.ctx.deps.resources, page_response,
                            res_list_atom::value, call.who.user, std::move(q));
}

route_result lookup(rest_call& call, const resource_kind& kind,
                    const lookup_route& by) {
  if (auto res = require_uuid(call, 0, by.field))
    return std::move(*res);
  resource_query q{kind.kind, by.field, call.params[0], 0, default_page};
  if (auto res = read_paging(call, q))
    return std::move(*res);
  return ask<resource_page>(call, call.ctx.deps.resources, page_response,
                            res_list_atom::value, call.who.user, std::move(q));
}

auto doc_response(http::status status) {
  return [status](reply_to to, resource_doc& doc) {
    auto res = json_response(to, status, std::move(doc.json));
    if (status == http::status::created)
      res.set(http::field::location, "/api/" + doc.kind + "/" + doc.id);
    return res;
  };
}

route_result create(rest_call& call, const resource_kind& kind) {
  if (auto res = require_json(call))
    return std::move(*res);
  return ask<resource_doc>(
    call, call.ctx.deps.resources, doc_response(http::status::created),
    create_atom::value, call.who.user, kind.kind, call.req.body());
}

route_result read(rest_call& call, const resource_kind& kind) {
  if (auto res = require_uuid(call, 0, "id"))
    return std::move(*res);
  return ask<resource_doc>(call, call.ctx.deps.resources,
                           doc_response(http::status::ok), res_get_atom::value,
                           call.who.user, kind.kind, call.params[0]);
}

route_result replace(rest_call& call, const resource_kind& kind) {
  if (auto res = require_uuid(call, 0, "id"))
    return std::move(*res);
  if (auto res = require_json(call))
    return std::move(*res);
  return ask<resource_doc>(call, call.ctx.deps.resources,
                           doc_response(http::status::ok), update_atom::value,
                           call.who.user, kind.kind, call.params[0],
                           call.req.body());
}

route_result remove(rest_call& call, const resource_kind& kind) {
  if (auto res = require_uuid(call, 0, "id"))
    return std::move(*res);
  return ask<caf::ok_atom>(
    call, call.ctx.deps.resources,
    [](reply_to to, caf::ok_atom) {
      return empty_response(to, http::status::no_content);
    },
    res_del_atom::value, call.who.user, kind.kind, call.params[0]);
}

/// DELETE /api/conversations/{id}/memories: the conversation must exist;
/// then its runs' event logs go (its messages stay).
route_result forget(rest_call& call) {
  if (auto res = require_uuid(call, 0, "id"))
    return std::move(*res);
  auto& ctx = call.ctx;
  auto to = reply_to_of(call.req);
  auto cleared
    = [to, respond = call.respond](caf::expected<caf::ok_atom> done) {
        respond(done ? empty_response(to, http::status::no_content)
                     : error_response(to, done.error()));
      };
  auto found = [=, &sys = ctx.sys, lease = ctx.actor_lease, ex = call.ex,
                chats = ctx.deps.chats, timeout = ctx.cfg.actor_timeout,
                respond = call.respond, owner = call.who.user,
                id = call.params[0]](caf::expected<resource_doc> doc) {
    if (!doc)
      return respond(error_response(to, doc.error()));
    ask_actor<caf::ok_atom>(sys, lease, ex, chats, timeout, cleared,
                            forget_atom::value, owner, id);
  };
  ask_actor<resource_doc>(ctx.sys, ctx.actor_lease, call.ex, ctx.deps.resources,
                          ctx.cfg.actor_timeout, found, res_get_atom::value,
                          call.who.user, std::string{"conversations"},
                          call.params[0]);
  return response_pending{};
}

route_result resolve(rest_call& call) {
  if (auto res = require_json(call))
    return std::move(*res);
  return ask<std::string>(
    call, call.ctx.deps.resources,
    [](reply_to to, std::string& json) {
      return json_response(to, http::status::ok, std::move(json));
    },
    resolve_atom::value, call.who.user, call.req.body());
}

http_response plugin_functions(rest_call& call) {
  std::string json = "[";
  for (auto& tool : researcher_tools()) {
    if (json.size() > 1)
      json += ',';
    json += R"({"name":")" + json_escape(tool.name) + R"(","description":")"
            + json_escape(tool.description) + R"(","example":")"
            + json_escape(tool.example) + R"("})";
  }
  return json_reply(call, http::status::ok, json + "]");
}

// -- persona images -----------------------------------------------------------

struct image_type {
  const char* media_type;
  const char* extension;
  std::string_view magic;
  size_t magic_offset;
};

const image_type image_types[] = {
  {"image/png", "png", "\x89PNG\r\n\x1a\n", 0},
  {"image/jpeg", "jpg", "\xff\xd8\xff", 0},
  {"image/webp", "webp", "WEBP", 8},
};

const image_type* image_type_of_body(std::string_view media,
                                     const std::string& body) {
  for (auto& type : image_types)
    if (media == type.media_type
        && body.size() >= type.magic_offset + type.magic.size()
        && body.compare(type.magic_offset, type.magic.size(), type.magic) == 0)
      return &type;
  return nullptr;
}

/// Each user's images live in a folder of their own (named after their
/// owner scope, which holds no '/'), so another user's file name is not
/// found.
std::string images_of(const server_config& cfg, const principal& who) {
  auto scope = owner_scope(who.user);
  return cfg.upload_dir + "/"
         + (scope.empty() ? std::string{"local"} : "u" + scope.substr(1));
}

route_result upload_image(rest_call& call) {
  auto& cfg = call.ctx.cfg;
  auto type = call.req[http::field::content_type];
  std::string_view media{type.data(), type.size()};
  media = media.substr(0, media.find(';'));
  auto* image = image_type_of_body(media, call.req.body());
  if (!image)
    return error_reply(call, error_code::unsupported_media_type,
                       "send the image itself as the body, with Content-Type "
                       "image/png, image/jpeg or image/webp matching its "
                       "bytes");
  if (call.req.body().size() > cfg.max_upload_bytes)
    return error_reply(call, error_code::too_large,
                       "images may be at most "
                         + std::to_string(cfg.max_upload_bytes) + " bytes");
  auto file = call.ctx.ids.next() + "." + image->extension;
  auto dir = images_of(cfg, call.who);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  // A small file written on the I/O thread: bounded by max_upload_bytes.
  std::ofstream out{dir + "/" + file, std::ios::binary};
  out.write(call.req.body().data(),
            static_cast<std::streamsize>(call.req.body().size()));
  out.close();
  if (!out)
    return error_reply(call, error_code::internal,
                       "could not save the image under " + cfg.upload_dir);
  auto url = "/api/personas/images/" + file;
  auto res = json_reply(call, http::status::created,
                        R"({"url":")" + url + R"(","content_type":")"
                          + image->media_type + R"(","size":)"
                          + std::to_string(call.req.body().size()) + "}");
  res.set(http::field::location, url);
  return res;
}

route_result serve_image(rest_call& call) {
  auto& name = call.params[0];
  auto dot = name.find('.');
  const image_type* image = nullptr;
  if (dot != std::string::npos
      && is_uuid(std::string_view{name}.substr(0, dot)))
    for (auto& type : image_types)
      if (name.substr(dot + 1) == type.extension)
        image = &type;
  std::ifstream in;
  if (image)
    in.open(images_of(call.ctx.cfg, call.who) + "/" + name, std::ios::binary);
  if (!image || !in)
    return error_reply(call, error_code::not_found, "no image " + name);
  std::string bytes{std::istreambuf_iterator<char>{in}, {}};
  http_response res{http::status::ok, call.req.version()};
  res.set(http::field::server, "parleyd");
  res.set(http::field::content_type, image->media_type);
  // One user's image: shared caches must not hand it to anyone else.
  res.set(http::field::cache_control, "private, max-age=86400, immutable");
  res.keep_alive(call.req.keep_alive());
  res.body() = std::move(bytes);
  res.prepare_payload();
  return res;
}

// -- the table
// ------------------------------------------------------------------

const std::vector<response_doc> errors_of_reads = {
  {400, "an id is not a UUID", "Error"},
  {404, "no such object", "Error"},
};

std::vector<response_doc> with(std::vector<response_doc> xs,
                               const std::vector<response_doc>& more) {
  xs.insert(xs.end(), more.begin(), more.end());
  return xs;
}

const std::vector<response_doc> errors_of_writes = {
  {400, "malformed JSON, or an id that is not a UUID", "Error"},
  {413, "body too large", "Error"},
  {415, "body is not application/json", "Error"},
  {422, "a field breaks the schema, or a reference points nowhere", "Error"},
};

std::vector<param_doc> paging_params() {
  return {{"limit", "query", "integer", "page size, 1 to 500 (default 50)"},
          {"offset", "query", "integer", "objects to skip (default 0)"}};
}

void add_kind_routes(std::vector<rest_route>& routes,
                     const resource_kind& kind) {
  auto base = "/api/" + kind.kind;
  auto name = kind.schema.name;
  const resource_kind* k = &kind;
  auto params = paging_params();
  for (auto& f : kind.filters)
    params.push_back({f.param, "query",
                      kind.schema.find(f.field)->type == field_type::boolean
                        ? "boolean"
                        : "string",
                      "only objects whose " + f.field + " is this"});
  routes.push_back(
    {http::verb::get,
     base,
     kind.kind,
     "List " + kind.kind,
     "",
     params,
     {{200, "a page of objects; the total in X-Total-Count", name + "[]"},
      {422, "bad paging or filter", "Error"}},
     [k](rest_call& c) { return list(c, *k); }});
  routes.push_back(
    {http::verb::post,
     base,
     kind.kind,
     "Create one of the " + kind.kind,
     name,
     {},
     with({{201, "created", name}, {409, "a unique field is taken", "Error"}},
          errors_of_writes),
     [k](rest_call& c) { return create(c, *k); }});
  auto one = base + "/{id}";
  std::vector<param_doc> id_param = {{"id", "path", "string", "a UUID"}};
  routes.push_back({http::verb::get, one, kind.kind, "Read one", "", id_param,
                    with({{200, "the object", name}}, errors_of_reads),
                    [k](rest_call& c) { return read(c, *k); }});
  routes.push_back({http::verb::put, one, kind.kind,
                    "Replace one (a full update)", name, id_param,
                    with({{200, "the stored object", name},
                          {404, "no such object", "Error"},
                          {409, "a unique field is taken", "Error"}},
                         errors_of_writes),
                    [k](rest_call& c) { return replace(c, *k); }});
  routes.push_back({http::verb::delete_, one, kind.kind,
                    kind.cascades.empty()
                      ? "Delete one"
                      : "Delete one and its " + kind.cascades[0].kind,
                    "", id_param,
                    with({{204, "deleted", ""},
                          {409, "other objects still point at it", "Error"}},
                         errors_of_reads),
                    [k](rest_call& c) { return remove(c, *k); }});
  for (auto& by : kind.lookups) {
    const lookup_route* l = &by;
    auto p = paging_params();
    p.insert(p.begin(), {by.field, "path", "string", "a UUID"});
    routes.push_back(
      {http::verb::get,
       base + "/" + by.path + "/{" + by.field + "}",
       kind.kind,
       "List the " + kind.kind + " whose " + by.field + " is this, in order",
       "",
       p,
       {{200, "a page of objects; the total in X-Total-Count", name + "[]"},
        {400, "the id is not a UUID", "Error"},
        {422, "bad paging", "Error"}},
       [k, l](rest_call& c) { return lookup(c, *k, *l); }});
  }
}

} // namespace

std::vector<rest_route> resource_routes() {
  std::vector<rest_route> routes;
  // Literal paths first only for readability: matching prefers them anyway.
  routes.push_back(
    {http::verb::get,
     "/api/modules/plugin-functions",
     "modules",
     "The built-in functions a module may call",
     "",
     {},
     {{200, "the functions", "PluginFunction[]"}},
     [](rest_call& c) -> route_result { return plugin_functions(c); }});
  routes.push_back(
    {http::verb::post,
     "/api/personas/upload-image",
     "personas",
     "Store an image for a persona (PNG, JPEG or WebP as the raw body)",
     "image/*",
     {},
     {{201, "stored; `url` serves it", "ImageUpload"},
      {413, "too large", "Error"},
      {415, "not a PNG, JPEG or WebP image", "Error"}},
     upload_image});
  routes.push_back(
    {http::verb::get,
     "/api/personas/images/{file}",
     "personas",
     "An uploaded image",
     "",
     {{"file", "path", "string", "as in the upload's url"}},
     {{200, "the image", "image/*"}, {404, "no such image", "Error"}},
     serve_image,
     route_access::user,
     true});
  routes.push_back(
    {http::verb::delete_,
     "/api/conversations/{id}/memories",
     "conversations",
     "Forget what the conversation's runs went through (their event logs); "
     "messages stay",
     "",
     {{"id", "path", "string", "a UUID"}},
     with({{204, "forgotten", ""}}, errors_of_reads),
     forget});
  routes.push_back({http::verb::post,
                    "/api/templates/resolve",
                    "templates",
                    "Resolve @module and ${variable} references",
                    "TemplateResolveRequest",
                    {},
                    with({{200, "the resolved text", "TemplateResolveReply"}},
                         errors_of_writes),
                    resolve});
  for (auto& kind : resource_kinds())
    add_kind_routes(routes, kind);
  return routes;
}

} // namespace parley
