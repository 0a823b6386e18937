// The Server-Sent Events scenarios (clients in sse_client.hpp):
//
//   sse       C clients, each on its own conversation, POST run_agent with
//             ?stream=true, read the events to the terminal one, and start
//             the next run at once, for D s (the warm-up not counted)
//   sse_held  N streams opened (window-limited) on slowly paced runs and
//             held at once: how many, and the server's RSS per stream
//
// A run's events are its WebSocket frames (docs/rest.md), so events/s here
// compares with the stream scenario's frames/s.
#include <algorithm>
#include <cstdio>
#include <random>

#include <boost/asio/post.hpp>

#include "scenario_support.hpp"
#include "sse_client.hpp"

namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

namespace parley::bench {

namespace {

/// A UUID (what run_agent takes as conversation_id) unique to this process
/// and client `i`: a random prefix, `i` in the last group.
std::string conversation_uuid(uint64_t prefix, size_t i) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-4%03x-8000-%012llx",
                static_cast<unsigned>(prefix >> 32),
                static_cast<unsigned>((prefix >> 16) & 0xFFFF),
                static_cast<unsigned>(prefix & 0xFFF),
                static_cast<unsigned long long>(i & 0xFFFFFFFFFFFFull));
  return buf;
}

/// One client per conversation, spread over the pool's threads; not started.
std::vector<std::shared_ptr<sse_conn>>
make_sse_clients(client_pool& pool, const options& opts, sse_shared& shared,
                 size_t count,
                 const std::function<std::function<void()>(size_t)>& hook) {
  std::mt19937_64 rng{std::random_device{}() ^ opts.seed};
  auto prefix = rng();
  auto host = opts.host + ":" + std::to_string(opts.port);
  std::vector<std::shared_ptr<sse_conn>> conns;
  for (size_t i = 0; i < count; ++i) {
    rapidjson::StringBuffer body;
    json_writer w{body};
    w.StartObject();
    write_string(w, "query", opts.message);
    write_string(w, "conversation_id", conversation_uuid(prefix, i));
    w.EndObject();
    auto t = i % pool.size();
    conns.push_back(std::make_shared<sse_conn>(pool.context(t), shared, host,
                                               body.GetString(),
                                               hook ? hook(t) : nullptr));
  }
  return conns;
}

/// Sums the clients' counters; call after the pool finished.
struct sse_totals {
  uint64_t events = 0, chunks = 0, bytes = 0, runs = 0, seq_gaps = 0;
  uint64_t errors = 0, http_errors = 0, connect_errors = 0, incomplete = 0;
  uint64_t error_events = 0;
  std::string first_error;
  samples first_event, inter_arrival, connect_latency, delivery;

  explicit sse_totals(std::vector<std::shared_ptr<sse_conn>>& conns) {
    for (auto& c : conns) {
      events += c->events, chunks += c->chunks, bytes += c->bytes;
      runs += c->runs, seq_gaps += c->seq_gaps, errors += c->errors;
      http_errors += c->http_errors, connect_errors += c->connect_errors;
      incomplete += c->incomplete, error_events += c->error_events;
      if (first_error.empty())
        first_error = c->first_error;
      first_event.merge(c->first_event);
      inter_arrival.merge(c->inter_arrival);
      connect_latency.merge(c->connect_latency);
      delivery.merge(c->delivery);
    }
  }

  void write_errors(json_writer& w) const {
    write_int(w, "errors", static_cast<int64_t>(errors));
    write_int(w, "http_errors", static_cast<int64_t>(http_errors));
    write_int(w, "connect_errors", static_cast<int64_t>(connect_errors));
    write_int(w, "incomplete_streams", static_cast<int64_t>(incomplete));
    write_int(w, "error_events", static_cast<int64_t>(error_events));
    write_int(w, "seq_gaps", static_cast<int64_t>(seq_gaps));
    write_string(w, "first_error", first_error);
  }
};

/// Streams open now, sampled over the window: did all C overlap?
struct open_sampler {
  int64_t min = INT64_MAX;
  double sum = 0;
  size_t n = 0;

  void until(const sse_shared& shared, time_point end) {
    while (clock_type::now() < end) {
      std::this_thread::sleep_until(std::min(end, clock_type::now() + 50ms));
      auto open = shared.open.load();
      min = std::min(min, open);
      sum += static_cast<double>(open);
      ++n;
    }
  }
};

/// Keeps at most `window` streams of one thread opening at once.
struct sse_launcher {
  std::vector<std::shared_ptr<sse_conn>> conns;
  tcp::endpoint server;
  size_t next = 0;
  size_t in_flight = 0;
  size_t window = 1;

  void launch() {
    while (in_flight < window && next < conns.size()) {
      ++in_flight;
      conns[next++]->start(server);
    }
  }
};

} // namespace

int run_sse(const options& opts) {
  client_pool pool{opts.threads};
  sse_shared shared;
  auto start = clock_type::now();
  shared.window_start = after(start, opts.warmup_s);
  shared.window_end = after(start, opts.duration_s);
  auto rss_before = read_rss_kib(opts.server_pid);
  auto conns = make_sse_clients(pool, opts, shared, opts.connections, {});
  for (auto& c : conns)
    net::post(c->context(), [c, ep = server_endpoint(opts)] { c->start(ep); });
  std::this_thread::sleep_until(shared.window_start);
  auto cpu0 = read_cpu_s(opts.server_pid);
  auto self0 = self_cpu_s();
  open_sampler sampled;
  sampled.until(shared, shared.window_end);
  auto cpu1 = read_cpu_s(opts.server_pid);
  auto self1 = self_cpu_s();
  shared.repeat = false;
  auto rss_after = read_rss_kib(opts.server_pid);
  bool drained = wait_until([&] { return shared.runs_in_flight <= 0; }, 5s);
  abort_all(pool, conns);
  pool.finish(2s);

  sse_totals t{conns};
  auto secs = seconds_between(shared.window_start, shared.window_end);
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  begin_report(w, opts);
  write_int(w, "connections", static_cast<int64_t>(conns.size()));
  write_int(w, "streams_open_max", shared.open_max.load());
  w.Key("all_streams_open_at_once");
  w.Bool(shared.open_max.load() >= static_cast<int64_t>(conns.size()));
  write_number(w, "streams_open_mean", sampled.n ? sampled.sum / sampled.n : 0);
  write_int(w, "streams_open_min", sampled.n ? sampled.min : 0);
  write_number(w, "measured_s", secs);
  write_int(w, "runs", static_cast<int64_t>(t.runs));
  write_number(w, "runs_per_s", t.runs / secs);
  write_number(w, "events_per_s", t.events / secs);
  write_number(w, "chunk_events_per_s", t.chunks / secs);
  write_number(w, "data_mib_per_s", t.bytes / secs / (1 << 20));
  write_latency(w, "post_to_first_event_us", t.first_event);
  write_latency(w, "inter_arrival_us", t.inter_arrival);
  write_latency(w, "event_to_receipt_us", t.delivery);
  write_latency(w, "connect_us", t.connect_latency);
  t.write_errors(w);
  if (cpu0 >= 0) {
    write_number(w, "server_cpu_cores", (cpu1 - cpu0) / secs);
    if (t.events > 0)
      write_number(w, "server_cpu_us_per_event",
                   (cpu1 - cpu0) * 1e6 / t.events);
  }
  write_number(w, "loadgen_cpu_cores", (self1 - self0) / secs);
  write_int(w, "server_rss_before_kib", rss_before);
  write_int(w, "server_rss_after_kib", rss_after);
  write_string(w, "drained",
               drained ? "yes" : "no: runs still in flight after 5 s");
  emit(w, buf, opts);
  return t.errors == 0 ? 0 : 1;
}

int run_sse_held(const options& opts) {
  client_pool pool{opts.threads};
  sse_shared shared;
  shared.repeat = false; // one run each: it is the stream being held
  std::vector<sse_launcher> launchers(pool.size());
  auto conns = make_sse_clients(pool, opts, shared, opts.connections,
                                [&launchers](size_t t) {
                                  return [&l = launchers[t]] {
                                    --l.in_flight;
                                    l.launch();
                                  };
                                });
  for (size_t i = 0; i < conns.size(); ++i)
    launchers[i % pool.size()].conns.push_back(conns[i]);
  auto rss_before = read_rss_kib(opts.server_pid);
  auto cpu0 = read_cpu_s(opts.server_pid);
  auto start = clock_type::now();
  for (size_t t = 0; t < pool.size(); ++t) {
    launchers[t].server = server_endpoint(opts);
    launchers[t].window
      = std::max<size_t>(opts.connect_window / pool.size(), 1);
    net::post(pool.context(t), [&l = launchers[t]] { l.launch(); });
  }
  auto n = static_cast<int64_t>(conns.size());
  bool all_held
    = wait_until([&] { return shared.held >= n; },
                 std::chrono::duration_cast<clock_type::duration>(
                   std::chrono::duration<double>(opts.open_timeout_s)));
  auto opened_at = clock_type::now();
  // Let the server finish what it does after a run's first event.
  std::this_thread::sleep_for(std::chrono::duration<double>(opts.hold_s / 2));
  auto held_at_rss = shared.held.load();
  auto rss_held = read_rss_kib(opts.server_pid);
  std::this_thread::sleep_for(std::chrono::duration<double>(opts.hold_s / 2));
  auto held_at_end = shared.held.load();
  auto cpu1 = read_cpu_s(opts.server_pid);
  auto hold_end = clock_type::now();
  abort_all(pool, conns);
  pool.finish(2s);

  sse_totals t{conns};
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  begin_report(w, opts);
  write_int(w, "streams", n);
  write_int(w, "held_max", shared.held_max.load());
  w.Key("all_held_at_once");
  w.Bool(all_held);
  write_int(w, "held_at_rss_reading", held_at_rss);
  write_int(w, "held_at_end", held_at_end);
  write_number(w, "open_time_s", seconds_between(start, opened_at));
  write_number(w, "hold_s", seconds_between(opened_at, hold_end));
  write_latency(w, "post_to_first_event_us", t.first_event);
  write_latency(w, "connect_us", t.connect_latency);
  write_int(w, "events", static_cast<int64_t>(t.events));
  t.write_errors(w);
  write_int(w, "server_rss_before_kib", rss_before);
  write_int(w, "server_rss_held_kib", rss_held);
  if (rss_before >= 0 && held_at_rss > 0)
    write_number(w, "server_rss_per_held_stream_kib",
                 static_cast<double>(rss_held - rss_before) / held_at_rss);
  if (cpu0 >= 0)
    write_number(w, "server_cpu_cores",
                 (cpu1 - cpu0) / seconds_between(start, hold_end));
  emit(w, buf, opts);
  return all_held ? 0 : 1;
}

} // namespace parley::bench
