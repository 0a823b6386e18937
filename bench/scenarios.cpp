// The WebSocket scenarios: what each client does with its frames, and what
// the main thread measures around them. Each prints one JSON object
// (loadgen.cpp).
//
//   idle    N connections opened (window-limited) and held; RSS per connection
//   stream  C clients, each chatting again as soon as its run is done
//   cancel  stream, but some runs are cancelled after k chunks
//   fanout  S subscribers on one conversation, one writer chatting on it
// slow is in slow_scenario.cpp, the SSE scenarios in sse_scenarios.cpp, the
// clients themselves in clients.hpp.
#include <algorithm>

#include <boost/asio/post.hpp>
#include <rapidjson/document.h>

#include "redis_stats.hpp"
#include "scenario_support.hpp"

namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

namespace parley::bench {

std::pair<int64_t, bool> connections_info(const options& opts,
                                          std::string_view id) {
  rapidjson::Document doc;
  auto body = http_get(opts, "/connections");
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()
      || !doc.HasMember("active_connections"))
    return {-1, false};
  bool found = false;
  if (auto it = doc.FindMember("session_ids");
      it != doc.MemberEnd() && it->value.IsArray())
    for (auto& v : it->value.GetArray())
      found = found || (v.IsString() && id == v.GetString());
  return {doc["active_connections"].GetInt64(), found};
}

int run_idle(const options& opts) {
  client_pool pool{opts.threads};
  std::vector<net::ip::address> sources;
  for (int s = 1; s <= opts.sources; ++s)
    sources.push_back(opts.sources == 1 ? net::ip::address{}
                                        : net::ip::make_address(
                                          "127.0.0." + std::to_string(s)));
  std::atomic<size_t> settled{0};
  std::vector<launcher> launchers(pool.size());
  std::vector<std::shared_ptr<idle_conn>> all(opts.connections);
  for (size_t i = 0; i < all.size(); ++i) {
    auto t = i % pool.size();
    auto& l = launchers[t];
    all[i] = std::make_shared<idle_conn>(
      pool.context(t), "/ws/chat/idle-" + std::to_string(i),
      [&l, &settled, &ioc = pool.context(t)] {
        --l.in_flight;
        ++settled;
        // Posted, not called: a connect that fails at once must not recurse.
        net::post(ioc, [&l] { l.launch(); });
      });
    l.conns.push_back(all[i]);
  }
  auto rss_before = read_rss_kib(opts.server_pid);
  auto self_before = read_rss_kib(getpid());
  auto start = clock_type::now();
  for (size_t t = 0; t < pool.size(); ++t) {
    launchers[t].sources = sources;
    launchers[t].server = server_endpoint(opts);
    launchers[t].window
      = std::max<size_t>(opts.connect_window / pool.size(), 1);
    net::post(pool.context(t), [&l = launchers[t]] { l.launch(); });
  }
  wait_until([&] { return settled == all.size(); },
             std::chrono::seconds(60 + all.size() / 500));
  auto opened_at = clock_type::now();
  // Let the server finish what it does after a greeting (actor spawns).
  std::this_thread::sleep_for(std::chrono::duration<double>(opts.hold_s / 2));
  auto rss_after = read_rss_kib(opts.server_pid);
  auto self_after = read_rss_kib(getpid());
  auto [active, unused] = connections_info(opts, "");
  std::this_thread::sleep_for(std::chrono::duration<double>(opts.hold_s / 2));

  samples open_latency;
  size_t ready = 0, failed = 0, dropped = 0;
  std::string first_error;
  pool.run_on(0, [] {}); // a barrier: the counters below are settled
  for (size_t t = 0; t < pool.size(); ++t)
    pool.run_on(t, [&, t] {
      for (size_t i = t; i < all.size(); i += pool.size()) {
        auto& c = *all[i];
        if (c.ready()) {
          ++ready;
          open_latency.add(c.ready_at() - c.started_at());
          dropped += c.is_open() ? 0 : 1;
        } else {
          ++failed;
          if (first_error.empty())
            first_error = c.error();
        }
      }
    });
  abort_all(pool, all);
  pool.finish(2s);
  std::this_thread::sleep_for(1s);
  auto rss_closed = read_rss_kib(opts.server_pid);

  rapidjson::StringBuffer buf;
  json_writer w{buf};
  begin_report(w, opts);
  write_int(w, "connections", static_cast<int64_t>(all.size()));
  write_int(w, "sources", opts.sources);
  write_int(w, "opened", static_cast<int64_t>(ready));
  write_int(w, "failed", static_cast<int64_t>(failed));
  write_string(w, "first_error", first_error);
  write_int(w, "closed_by_server_while_idle", static_cast<int64_t>(dropped));
  write_int(w, "server_active_connections", active);
  auto open_s = seconds_between(start, opened_at);
  write_number(w, "open_time_s", open_s);
  write_number(w, "opens_per_s", open_s > 0 ? ready / open_s : 0);
  write_latency(w, "open_latency_us", open_latency);
  write_int(w, "server_rss_before_kib", rss_before);
  write_int(w, "server_rss_after_kib", rss_after);
  write_int(w, "server_rss_after_close_kib", rss_closed);
  if (rss_before >= 0 && ready > 0)
    write_number(w, "server_rss_per_connection_kib",
                 static_cast<double>(rss_after - rss_before) / ready);
  if (ready > 0)
    write_number(w, "loadgen_rss_per_connection_kib",
                 static_cast<double>(self_after - self_before) / ready);
  emit(w, buf, opts);
  return ready == all.size() ? 0 : 1;
}

std::vector<std::shared_ptr<chat_conn>>
start_chatters(client_pool& pool, const options& opts, stream_shared& shared,
               size_t count, const std::string& conversation_prefix,
               bool shared_conversation) {
  std::vector<std::shared_ptr<chat_conn>> conns;
  for (size_t i = 0; i < count; ++i) {
    auto t = i % pool.size();
    auto conversation = shared_conversation
                          ? conversation_prefix
                          : conversation_prefix + std::to_string(i);
    conns.push_back(std::make_shared<chat_conn>(
      pool.context(t), "/ws/chat/" + opts.scenario + "-" + std::to_string(i),
      shared, opts.message, conversation, opts.seed * 7919 + i));
    net::post(pool.context(t), [c = conns.back(), ep = server_endpoint(opts)] {
      c->start(ep, {});
    });
  }
  return conns;
}

void write_stream_fields(json_writer& w, stream_totals& t, double secs) {
  write_number(w, "measured_s", secs);
  write_int(w, "runs", static_cast<int64_t>(t.runs));
  write_number(w, "runs_per_s", t.runs / secs);
  write_number(w, "frames_per_s", t.frames / secs);
  write_number(w, "chunk_frames_per_s", t.chunks / secs);
  write_number(w, "mib_per_s", t.bytes / secs / (1 << 20));
  write_latency(w, "chat_to_start_us", t.start_latency);
  write_latency(w, "inter_arrival_us", t.inter_arrival);
  write_latency(w, "event_to_receipt_us", t.delivery);
  write_int(w, "error_frames", static_cast<int64_t>(t.errors));
  write_int(w, "seq_gaps", static_cast<int64_t>(t.seq_gaps));
  write_int(w, "foreign_frames", static_cast<int64_t>(t.foreign));
  write_int(w, "late_frames_after_done",
            static_cast<int64_t>(t.late_after_done));
  write_int(w, "connections_failed", static_cast<int64_t>(t.failed));
}

int run_stream(const options& opts, bool with_cancel) {
  client_pool pool{opts.threads};
  stream_shared shared;
  if (with_cancel) {
    shared.cancel_probability = opts.cancel_probability;
    shared.cancel_after_max = std::max(opts.cancel_after_max, 1);
  }
  auto start = clock_type::now();
  shared.window_start = after(start, opts.warmup_s);
  shared.window_end = after(start, opts.duration_s);
  auto rss_before = read_rss_kib(opts.server_pid);
  auto conns = start_chatters(pool, opts, shared, opts.connections, "c");
  std::this_thread::sleep_until(shared.window_start);
  auto cpu0 = read_cpu_s(opts.server_pid);
  auto self0 = self_cpu_s();
  // persist: what the store asked of Redis during the window.
  redis_snapshot redis0, redis1;
  if (opts.redis_port > 0)
    redis0 = read_redis_info(opts.redis_host, opts.redis_port);
  std::this_thread::sleep_until(shared.window_end);
  auto cpu1 = read_cpu_s(opts.server_pid);
  auto self1 = self_cpu_s();
  if (opts.redis_port > 0)
    redis1 = read_redis_info(opts.redis_host, opts.redis_port);
  shared.sending = false;
  auto rss_after = read_rss_kib(opts.server_pid);
  bool drained = wait_until([&] { return shared.runs_in_flight <= 0; }, 5s);
  abort_all(pool, conns);
  pool.finish(2s);

  stream_totals t;
  for (auto& c : conns)
    t.add(*c);
  auto secs = seconds_between(shared.window_start, shared.window_end);
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  begin_report(w, opts);
  write_int(w, "connections", static_cast<int64_t>(conns.size()));
  write_int(w, "connections_ready", static_cast<int64_t>(shared.ready.load()));
  write_stream_fields(w, t, secs);
  if (cpu0 >= 0) {
    write_number(w, "server_cpu_cores", (cpu1 - cpu0) / secs);
    if (t.frames > 0)
      write_number(w, "server_cpu_us_per_frame",
                   (cpu1 - cpu0) * 1e6 / t.frames);
  }
  write_number(w, "loadgen_cpu_cores", (self1 - self0) / secs);
  write_int(w, "server_rss_before_kib", rss_before);
  write_int(w, "server_rss_after_kib", rss_after);
  write_string(w, "drained",
               drained ? "yes" : "no: runs still in flight after 5 s");
  if (opts.redis_port > 0)
    write_redis_delta(w, redis0, redis1, t.runs);
  if (with_cancel) {
    write_number(w, "cancel_probability", opts.cancel_probability);
    write_int(w, "cancel_after_max_chunks", shared.cancel_after_max);
    write_int(w, "cancels_sent", static_cast<int64_t>(t.cancels_sent));
    write_int(w, "cancelled_received", static_cast<int64_t>(t.cancelled));
    write_int(w, "finished_before_cancel",
              static_cast<int64_t>(t.finished_before_cancel));
    write_latency(w, "cancel_to_cancelled_us", t.cancel_latency);
    write_int(w, "late_frames_after_cancelled",
              static_cast<int64_t>(t.late_after_cancelled));
    // For the distribution plot: every sample, not just the percentiles.
    if (!opts.samples_out.empty())
      append_us_lines(opts.samples_out, t.cancel_latency);
  }
  emit(w, buf, opts);
  return t.late_after_cancelled == 0 ? 0 : 1;
}

int run_fanout(const options& opts) {
  client_pool pool{opts.threads};
  stream_shared shared;
  run_clock clock;
  std::atomic<size_t> subscribed{0};
  std::vector<std::shared_ptr<subscriber_conn>> subs;
  for (size_t i = 0; i < opts.subscribers; ++i) {
    auto t = i % pool.size();
    subs.push_back(std::make_shared<subscriber_conn>(
      pool.context(t), "/ws/chat/fan-sub-" + std::to_string(i),
      std::vector<std::string>{"fanout"}, subscribed, shared,
      [&clock](std::string_view run, time_point at, samples& into) {
        clock.done(run, at, into);
      }));
    net::post(pool.context(t), [c = subs.back(), ep = server_endpoint(opts)] {
      c->start(ep, {});
    });
  }
  bool all_subscribed
    = wait_until([&] { return subscribed == subs.size(); },
                 std::chrono::seconds(30 + subs.size() / 200));
  shared.on_run_start = [&clock](std::string_view run, time_point sent) {
    clock.started(run, sent);
  };
  auto start = clock_type::now();
  shared.window_start = after(start, opts.warmup_s);
  shared.window_end = after(start, opts.duration_s);
  auto writer = start_chatters(pool, opts, shared, 1, "fanout", true);
  std::this_thread::sleep_until(shared.window_start);
  auto cpu0 = read_cpu_s(opts.server_pid);
  std::this_thread::sleep_until(shared.window_end);
  auto cpu1 = read_cpu_s(opts.server_pid);
  shared.sending = false;
  wait_until([&] { return shared.runs_in_flight <= 0; }, 5s);
  std::this_thread::sleep_for(500ms); // the last run's frames reach everyone
  abort_all(pool, writer);
  abort_all(pool, subs);
  pool.finish(2s);

  uint64_t frames = 0, gaps = 0, min_runs = UINT64_MAX, max_runs = 0;
  samples done_latency, delivery;
  for (auto& s : subs) {
    frames += s->frames;
    gaps += s->seq_gaps;
    min_runs = std::min(min_runs, s->complete_runs);
    max_runs = std::max(max_runs, s->complete_runs);
    done_latency.merge(s->done_latency);
    delivery.merge(s->delivery);
  }
  stream_totals wt;
  wt.add(*writer.front());
  auto secs = seconds_between(shared.window_start, shared.window_end);
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  begin_report(w, opts);
  write_int(w, "subscribers", static_cast<int64_t>(subs.size()));
  write_int(w, "subscribed", static_cast<int64_t>(subscribed.load()));
  write_string(w, "all_subscribed", all_subscribed ? "yes" : "no");
  write_number(w, "measured_s", secs);
  write_int(w, "writer_runs", static_cast<int64_t>(wt.runs));
  write_number(w, "runs_per_s", wt.runs / secs);
  write_number(w, "frames_delivered_per_s", frames / secs);
  write_number(w, "frames_per_s_per_subscriber",
               subs.empty() ? 0 : frames / secs / subs.size());
  write_int(w, "subscriber_complete_runs_min",
            subs.empty() ? 0 : static_cast<int64_t>(min_runs));
  write_int(w, "subscriber_complete_runs_max", static_cast<int64_t>(max_runs));
  write_int(w, "subscriber_seq_gaps", static_cast<int64_t>(gaps));
  write_latency(w, "chat_to_subscriber_done_us", done_latency);
  write_latency(w, "event_to_receipt_us", delivery);
  write_latency(w, "writer_chat_to_start_us", wt.start_latency);
  if (cpu0 >= 0)
    write_number(w, "server_cpu_cores", (cpu1 - cpu0) / secs);
  emit(w, buf, opts);
  return 0;
}

} // namespace parley::bench
