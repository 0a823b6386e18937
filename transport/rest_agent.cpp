// The agent routes: start a run, poll it, follow it as Server-Sent Events,
// cancel it, page through its events, or send a chat message and wait for
// the answer. Each translates HTTP into the chat registry's messages, the
// same ones a WebSocket session sends, and the reply back into HTTP.
#include <boost/beast/http.hpp>

#include "actors/run_waiter.hpp"
#include "protocol/codec.hpp"
#include "protocol/resources.hpp"
#include "protocol/run_summary.hpp"
#include "transport/rest_support.hpp"

namespace http = boost::beast::http;

namespace parley {

namespace {

constexpr uint64_t default_events_page = 100;
constexpr uint64_t max_events_page = 1000;

multitask_strategy strategy_named(const std::string& name) {
  if (name == "enqueue")
    return multitask_strategy::enqueue;
  if (name == "interrupt")
    return multitask_strategy::interrupt;
  if (name == "rollback")
    return multitask_strategy::rollback;
  return multitask_strategy::reject;
}

std::string started_json(const run_ticket& ticket) {
  auto& rec = ticket.record;
  const char* status = to_string(rec.status);
  if (ticket.created && rec.status == run_status::running)
    status = "started";
  return R"({"run_id":)" + json_string(rec.id) + R"(,"status":)"
         + json_string(status) + R"(,"conversation_id":)"
         + json_string(rec.conversation_id) + "}";
}

route_result run_agent(rest_call& call) {
  auto body = checked_body(call, run_agent_body());
  if (auto res = std::get_if<http_response>(&body))
    return std::move(*res);
  auto& obj = std::get<validated_object>(body);
  run_request req;
  req.owner = call.who.user;
  req.message = obj.text("query");
  req.run_id = obj.text("id");
  auto key = call.req["Idempotency-Key"];
  if (req.run_id.empty() && !key.empty()) {
    req.run_id = std::string{key.data(), key.size()};
    if (!is_uuid(req.run_id))
      return error_reply(call, error_code::validation_failed,
                         "the Idempotency-Key header must be a UUID (it "
                         "becomes the run id)",
                         "Idempotency-Key");
  }
  req.reuse_existing = !req.run_id.empty();
  req.conversation_id = obj.text("conversation_id");
  req.agent_name = obj.text("agent_name");
  req.persona_id = obj.text("persona_id");
  req.strategy = strategy_named(obj.text("multitask_strategy"));
  req.enable_reasoning = obj.text("enable_reasoning") != "false";
  if (query_text(call, "stream").value_or("false") == "true") {
    if (req.run_id.empty())
      req.run_id = call.ctx.ids.next();
    sse_plan plan;
    plan.run_id = req.run_id;
    plan.owner = req.owner;
    plan.start = std::move(req);
    return sse_target{std::move(plan)};
  }
  return ask<run_ticket>(
    call, call.ctx.deps.chats,
    [](reply_to to, run_ticket& ticket) {
      auto res = json_response(
        to, ticket.created ? http::status::accepted : http::status::ok,
        started_json(ticket));
      res.set(http::field::location,
              "/api/agent/" + ticket.record.id + "/status");
      return res;
    },
    run_atom::value, std::move(req), subscriber_actor{});
}

route_result status_of_run(rest_call& call) {
  if (auto res = require_uuid(call, 0, "run_id"))
    return std::move(*res);
  return ask<run_record>(
    call, call.ctx.deps.chats,
    [](reply_to to, run_record& rec) {
      return json_response(to, http::status::ok, encode_run_status(rec));
    },
    status_atom::value, call.who.user, call.params[0]);
}

route_result stream(rest_call& call) {
  if (auto res = require_uuid(call, 0, "run_id"))
    return std::move(*res);
  sse_plan plan;
  plan.run_id = call.params[0];
  plan.owner = call.who.user;
  // The header (what a browser's EventSource sends on reconnect) wins over
  // the query parameter (what a client without header control can set).
  auto header = call.req["Last-Event-ID"];
  std::string raw{header.data(), header.size()};
  if (raw.empty())
    raw = query_text(call, "last_event_id").value_or("");
  if (!raw.empty()) {
    auto end = raw.data() + raw.size();
    auto [ptr, ec] = std::from_chars(raw.data(), end, plan.last_seq);
    if (ec != std::errc{} || ptr != end)
      return error_reply(call, error_code::validation_failed,
                         "Last-Event-ID must be the seq of an event (a whole "
                         "number)",
                         "Last-Event-ID");
  }
  return sse_target{std::move(plan)};
}

route_result cancel(rest_call& call) {
  if (auto res = require_uuid(call, 0, "run_id"))
    return std::move(*res);
  auto action = query_text(call, "action").value_or("interrupt");
  if (action != "interrupt" && action != "rollback")
    return error_reply(call, error_code::validation_failed,
                       "action must be interrupt or rollback", "action");
  return ask<run_record>(
    call, call.ctx.deps.chats,
    [](reply_to to, run_record& rec) {
      if (rec.status == run_status::cancelled)
        return json_response(to, http::status::ok,
                             R"({"run_id":)" + json_string(rec.id)
                               + R"(,"status":"cancelled"})");
      auto status = to_string(rec.status);
      auto body = error_json(error_code::conflict,
                             std::string{"the run already ended: "} + status);
      body.pop_back(); // add the final status beside the error
      body += R"(,"status":)" + json_string(status) + "}";
      return json_response(to, http::status::conflict, std::move(body));
    },
    cancel_atom::value, call.who.user, call.params[0], action == "interrupt");
}

route_result events(rest_call& call) {
  if (auto res = require_uuid(call, 0, "run_id"))
    return std::move(*res);
  auto after = query_number(call, "after", 0, 0, UINT64_MAX >> 1);
  if (auto res = std::get_if<http_response>(&after))
    return std::move(*res);
  auto limit
    = query_number(call, "limit", default_events_page, 1, max_events_page);
  if (auto res = std::get_if<http_response>(&limit))
    return std::move(*res);
  return ask<std::vector<event_frame>>(
    call, call.ctx.deps.chats,
    [](reply_to to, std::vector<event_frame>& frames) {
      std::string json = "[";
      for (auto& frame : frames) {
        if (json.size() > 1)
          json += ',';
        json += frame.json;
      }
      return json_response(to, http::status::ok, json + "]");
    },
    ev_get_atom::value, call.who.user, call.params[0],
    std::get<uint64_t>(after),
    static_cast<uint32_t>(std::get<uint64_t>(limit)));
}

route_result chat_send(rest_call& call) {
  auto body = checked_body(call, chat_send_body());
  if (auto res = std::get_if<http_response>(&body))
    return std::move(*res);
  auto& obj = std::get<validated_object>(body);
  auto& ctx = call.ctx;
  run_request req;
  req.owner = call.who.user;
  req.run_id = ctx.ids.next();
  req.conversation_id = obj.text("conversation_id");
  if (req.conversation_id.empty())
    req.conversation_id = ctx.ids.next();
  req.message = obj.text("message");
  req.agent_name = obj.text("agent_name");
  req.persona_id = obj.text("persona_id");
  // Like the WebSocket `chat` frame: a new message replaces one in flight.
  req.strategy = multitask_strategy::interrupt;
  auto started = std::chrono::steady_clock::now();
  auto waiter = spawn_run_waiter(ctx.sys, ctx.deps.chats, ctx.deps.options);
  auto to = reply_to_of(call.req);
  auto conversation_id = req.conversation_id;
  auto run_id = req.run_id;
  ask_actor<std::vector<event_frame>>(
    ctx.sys, ctx.actor_lease, call.ex, waiter,
    std::chrono::duration_cast<std::chrono::milliseconds>(ctx.cfg.chat_timeout),
    [to, respond = call.respond, conversation_id, run_id,
     started](caf::expected<std::vector<event_frame>> frames) {
      if (!frames && frames.error() == caf::sec::request_timeout)
        // The run goes on; say where to find it.
        return respond(error_response(
          to, http::status::gateway_timeout, error_code::timeout,
          "no answer within --chat-timeout-s; run " + run_id
            + " goes on: follow it at /api/agent/" + run_id + "/stream"));
      if (!frames)
        return respond(error_response(to, frames.error()));
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - started)
                  .count();
      auto summary = summarize_run(conversation_id, *frames, ms);
      if (summary.outcome == "done")
        return respond(json_response(to, http::status::ok, summary.json));
      if (summary.outcome == "cancelled")
        return respond(error_response(to, http::status::conflict,
                                      error_code::conflict,
                                      "the run was cancelled before it "
                                      "answered (a newer message on the "
                                      "conversation, or a cancel)"));
      respond(error_response(to, http::status::internal_server_error,
                             error_code::internal,
                             "the run failed: " + summary.error_message));
    },
    run_atom::value, std::move(req));
  // A client that hangs up no longer wants the answer: stop the run.
  return response_pending{
    [chats = ctx.deps.chats, owner = call.who.user, run_id] {
      caf::anon_send(chats, cancel_atom::value, owner, run_id, true);
    }};
}

std::vector<param_doc> run_id_param() {
  return {{"run_id", "path", "string", "a UUID"}};
}

} // namespace

std::vector<rest_route> agent_routes() {
  using v = http::verb;
  std::vector<rest_route> routes;
  routes.push_back(
    {v::post,
     "/api/agent/run_agent",
     "agent",
     "Start an agent run (idempotent with `id` or Idempotency-Key)",
     "RunAgentRequest",
     {{"stream", "query", "boolean",
       "true: answer with the run's Server-Sent Events"},
      {"Idempotency-Key", "header", "string",
       "a UUID used as the run id when the body has no `id`"}},
     {{202, "started (or queued)", "RunStarted"},
      {200, "a run with this id exists already", "RunStarted"},
      {400, "malformed JSON", "Error"},
      {409, "the conversation has a run in flight (strategy reject)", "Error"},
      {415, "not application/json", "Error"},
      {422, "a field breaks the schema", "Error"}},
     run_agent});
  routes.push_back({v::get,
                    "/api/agent/{run_id}/status",
                    "agent",
                    "A run's status, and its result once it ended",
                    "",
                    run_id_param(),
                    {{200, "the status", "RunStatus"},
                     {400, "run_id is not a UUID", "Error"},
                     {404, "no such run", "Error"}},
                    status_of_run});
  auto stream_params = run_id_param();
  stream_params.push_back(
    {"Last-Event-ID", "header", "integer", "resume after this seq"});
  stream_params.push_back({"last_event_id", "query", "integer",
                           "resume after this seq (if no header)"});
  routes.push_back(
    {v::get,
     "/api/agent/{run_id}/stream",
     "agent",
     "Follow a run as Server-Sent Events: id = seq, event = type, data = the "
     "WebSocket frame",
     "",
     stream_params,
     {{200, "the events; the stream ends after the terminal one",
       "text/event-stream"},
      {404, "no such run", "Error"},
      {422, "Last-Event-ID is not a number", "Error"},
      {410, "the run's event history is no longer kept", "Error"}},
     stream,
     route_access::user,
     true});
  auto cancel_params = run_id_param();
  cancel_params.push_back(
    {"action", "query", "string",
     "interrupt (keep the partial answer, default) or rollback (drop it)"});
  routes.push_back({v::post,
                    "/api/agent/{run_id}/cancel",
                    "agent",
                    "Cancel a run (idempotent)",
                    "",
                    cancel_params,
                    {{200, "cancelled", "RunCancelled"},
                     {404, "no such run", "Error"},
                     {409, "the run already ended otherwise", "Error"},
                     {422, "unknown action", "Error"}},
                    cancel});
  auto events_params = run_id_param();
  events_params.push_back(
    {"after", "query", "integer", "only events with a greater seq"});
  events_params.push_back(
    {"limit", "query", "integer", "at most this many, 1 to 1000 (100)"});
  routes.push_back(
    {v::get,
     "/api/agent/{run_id}/events",
     "agent",
     "A run's events as a JSON array, for polling clients",
     "",
     events_params,
     {{200, "the events, as WebSocket frames", "Event[]"},
      {404, "no such run", "Error"},
      {422, "after or limit out of range", "Error"},
      {410, "the run's event history is no longer kept", "Error"}},
     events});
  routes.push_back(
    {v::post,
     "/api/chat/send",
     "chat",
     "Send a chat message and wait for the whole answer",
     "ChatSendRequest",
     {},
     {{200, "the answer", "ChatSendReply"},
      {409, "the run was cancelled before it answered", "Error"},
      {500, "the run failed", "Error"},
      {504, "no answer within --chat-timeout-s; the run goes on", "Error"},
      {415, "not application/json", "Error"},
      {422, "a field breaks the schema", "Error"}},
     chat_send});
  return routes;
}

} // namespace parley
