// The scenarios: what each client does with its frames, and what the main
// thread measures around them. Each prints one JSON object (loadgen.cpp).
//
//   idle    N connections opened (window-limited) and held; RSS per connection
//   stream  C clients, each chatting again as soon as its run is done
//   cancel  stream, but some runs are cancelled after k chunks
//   fanout  S subscribers on one conversation, one writer chatting on it
//   slow    stream, plus one client that subscribes to a few of the
//           conversations and stops reading
// The clients themselves are in clients.hpp.
#include <algorithm>

#include <boost/asio/post.hpp>
#include <rapidjson/document.h>

#include "clients.hpp"

namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

namespace parley::bench {

namespace {

tcp::endpoint server_endpoint(const options& opts) {
  return {net::ip::make_address(opts.host), opts.port};
}

/// Polls `done` every 10 ms until it holds or `timeout` passed.
template<class Pred>
bool wait_until(Pred done, clock_type::duration timeout) {
  auto deadline = clock_type::now() + timeout;
  while (!done()) {
    if (clock_type::now() >= deadline)
      return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

/// Aborts every connection on its own thread (the pool must still run).
template<class Conn>
void abort_all(client_pool& pool, std::vector<std::shared_ptr<Conn>>& conns) {
  for (size_t t = 0; t < pool.size(); ++t)
    pool.run_on(t, [&, t] {
      for (auto& c : conns)
        if (&c->context() == &pool.context(t))
          c->abort();
    });
}

/// The count of "session_ids" equal to `id` in a GET /connections body, and
/// its active_connections (-1 when unreadable).
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

} // namespace

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

namespace {

std::vector<std::shared_ptr<chat_conn>>
start_chatters(client_pool& pool, const options& opts, stream_shared& shared,
               size_t count, const std::string& conversation_prefix,
               bool shared_conversation = false) {
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

/// Throughput and latency fields common to stream, cancel and slow.
void write_stream_fields(json_writer& w, stream_totals& t, double secs) {
  write_number(w, "measured_s", secs);
  write_int(w, "runs", static_cast<int64_t>(t.runs));
  write_number(w, "runs_per_s", t.runs / secs);
  write_number(w, "frames_per_s", t.frames / secs);
  write_number(w, "chunk_frames_per_s", t.chunks / secs);
  write_number(w, "mib_per_s", t.bytes / secs / (1 << 20));
  write_latency(w, "chat_to_start_us", t.start_latency);
  write_latency(w, "inter_arrival_us", t.inter_arrival);
  write_int(w, "error_frames", static_cast<int64_t>(t.errors));
  write_int(w, "seq_gaps", static_cast<int64_t>(t.seq_gaps));
  write_int(w, "foreign_frames", static_cast<int64_t>(t.foreign));
  write_int(w, "late_frames_after_done",
            static_cast<int64_t>(t.late_after_done));
  write_int(w, "connections_failed", static_cast<int64_t>(t.failed));
}

} // namespace

int run_stream(const options& opts, bool with_cancel) {
  client_pool pool{opts.threads};
  stream_shared shared;
  if (with_cancel) {
    shared.cancel_probability = opts.cancel_probability;
    shared.cancel_after_max = std::max(opts.cancel_after_max, 1);
  }
  auto start = clock_type::now();
  shared.window_start = start
                        + std::chrono::duration_cast<clock_type::duration>(
                          std::chrono::duration<double>(opts.warmup_s));
  shared.window_end = start
                      + std::chrono::duration_cast<clock_type::duration>(
                        std::chrono::duration<double>(opts.duration_s));
  auto rss_before = read_rss_kib(opts.server_pid);
  auto conns = start_chatters(pool, opts, shared, opts.connections, "c");
  std::this_thread::sleep_until(shared.window_start);
  auto cpu0 = read_cpu_s(opts.server_pid);
  auto self0 = self_cpu_s();
  std::this_thread::sleep_until(shared.window_end);
  auto cpu1 = read_cpu_s(opts.server_pid);
  auto self1 = self_cpu_s();
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
  shared.window_start = start
                        + std::chrono::duration_cast<clock_type::duration>(
                          std::chrono::duration<double>(opts.warmup_s));
  shared.window_end = start
                      + std::chrono::duration_cast<clock_type::duration>(
                        std::chrono::duration<double>(opts.duration_s));
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
  samples done_latency;
  for (auto& s : subs) {
    frames += s->frames;
    gaps += s->seq_gaps;
    min_runs = std::min(min_runs, s->complete_runs);
    max_runs = std::max(max_runs, s->complete_runs);
    done_latency.merge(s->done_latency);
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
  write_latency(w, "writer_chat_to_start_us", wt.start_latency);
  if (cpu0 >= 0)
    write_number(w, "server_cpu_cores", (cpu1 - cpu0) / secs);
  emit(w, buf, opts);
  return 0;
}

namespace {

struct slow_sample {
  double t = 0;
  int64_t rss_kib = -1;
  double others_fps = 0;
  uint64_t others_frames = 0; ///< cumulative
  uint64_t slow_frames = 0;
  bool slow_listed = false;
};

/// Server RSS growth per 1000 frames delivered to the others between the
/// samples nearest `from` and `to`. The memory store keeps every event, so
/// RSS grows with traffic anyway; a slow reader's backlog shows as a rise
/// of this rate while it is stalled.
double rss_per_1k_frames(const std::vector<slow_sample>& v, double from,
                         double to) {
  const slow_sample* a = nullptr;
  const slow_sample* b = nullptr;
  for (auto& s : v) {
    if (!a && s.t >= from)
      a = &s;
    if (s.t <= to)
      b = &s;
  }
  if (!a || !b || b->others_frames <= a->others_frames || a->rss_kib < 0)
    return 0;
  return static_cast<double>(b->rss_kib - a->rss_kib) * 1000.0
         / static_cast<double>(b->others_frames - a->others_frames);
}

double mean_fps(const std::vector<slow_sample>& v, double from, double to) {
  double sum = 0;
  int n = 0;
  for (auto& s : v)
    if (s.t > from && s.t <= to) {
      sum += s.others_fps;
      ++n;
    }
  return n > 0 ? sum / n : 0;
}

void write_timeline(json_writer& w, const std::vector<slow_sample>& timeline) {
  w.Key("timeline");
  w.StartArray();
  for (auto& s : timeline) {
    w.StartObject();
    write_number(w, "t", s.t);
    write_int(w, "server_rss_kib", s.rss_kib);
    write_number(w, "others_frames_per_s", s.others_fps);
    write_int(w, "others_frames", static_cast<int64_t>(s.others_frames));
    write_int(w, "slow_frames", static_cast<int64_t>(s.slow_frames));
    w.Key("slow_listed");
    w.Bool(s.slow_listed);
    w.EndObject();
  }
  w.EndArray();
}

} // namespace

int run_slow(const options& opts) {
  client_pool pool{opts.threads};
  // Its own thread, so it keeps up while it reads however busy the others are.
  client_pool slow_pool{1};
  stream_shared shared;
  auto start = clock_type::now();
  auto at = [&](double s) {
    return start
           + std::chrono::duration_cast<clock_type::duration>(
             std::chrono::duration<double>(s));
  };
  shared.window_start = at(opts.warmup_s);
  shared.window_end = at(opts.duration_s);
  auto slow = std::make_shared<slow_conn>(
    slow_pool.context(0), std::min(opts.slow_follows, opts.connections));
  net::post(slow_pool.context(0), [slow, ep = server_endpoint(opts), &opts] {
    slow->start(ep, {}, opts.slow_rcvbuf);
  });
  auto conns = start_chatters(pool, opts, shared, opts.connections, "c");

  // Sample until the end; the slow client stops reading at stall_at.
  std::vector<slow_sample> timeline;
  uint64_t last_frames = 0;
  auto last_t = start;
  bool stalled = false;
  double vanished_at = -1;
  for (auto next = start; next < shared.window_end;) {
    next += std::chrono::duration_cast<clock_type::duration>(
      std::chrono::duration<double>(opts.sample_s));
    std::this_thread::sleep_until(next);
    auto now = clock_type::now();
    if (!stalled && now >= at(opts.stall_at_s)) {
      stalled = true;
      net::post(slow_pool.context(0), [slow] { slow->stall(); });
    }
    slow_sample s;
    s.t = seconds_between(start, now);
    s.rss_kib = read_rss_kib(opts.server_pid);
    auto frames = shared.frames.load();
    s.others_fps = (frames - last_frames) / seconds_between(last_t, now);
    s.others_frames = frames;
    last_frames = frames;
    last_t = now;
    s.slow_frames = slow->frames.load();
    s.slow_listed = connections_info(opts, "slow-reader").second;
    if (!s.slow_listed && vanished_at < 0)
      vanished_at = s.t;
    timeline.push_back(s);
  }
  shared.sending = false;
  wait_until([&] { return shared.runs_in_flight <= 0; }, 5s);
  // Read again: what is buffered, then the close frame (code) or the end.
  net::post(slow_pool.context(0), [slow] { slow->resume_reading(); });
  bool ended = wait_until([&] { return slow->ended.load(); },
                          std::chrono::duration_cast<clock_type::duration>(
                            std::chrono::duration<double>(opts.drain_s)));
  int close_code = 0;
  double ended_at = -1;
  std::string close_reason, end_error;
  slow_pool.run_on(0, [&] {
    close_code = slow->close_code();
    close_reason = slow->close_reason();
    end_error = slow->error();
    if (ended)
      ended_at = seconds_between(start, slow->ended_at());
  });
  std::vector<std::shared_ptr<slow_conn>> slow_list{slow};
  abort_all(slow_pool, slow_list);
  abort_all(pool, conns);
  slow_pool.finish(2s);
  pool.finish(2s);

  stream_totals t;
  for (auto& c : conns)
    t.add(*c);
  int64_t rss_stall = -1, rss_max = -1;
  for (auto& s : timeline) {
    if (rss_stall < 0 && s.t >= opts.stall_at_s)
      rss_stall = s.rss_kib;
    rss_max = std::max(rss_max, s.rss_kib);
  }
  auto end_s = opts.duration_s;
  auto stall_end = vanished_at > opts.stall_at_s ? vanished_at : end_s;
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  begin_report(w, opts);
  write_int(w, "connections", static_cast<int64_t>(conns.size()));
  write_number(w, "stall_at_s", opts.stall_at_s);
  write_int(w, "slow_rcvbuf_bytes", opts.slow_rcvbuf);
  write_stream_fields(w, t,
                      seconds_between(shared.window_start, shared.window_end));
  write_number(w, "others_fps_before_stall",
               mean_fps(timeline, opts.warmup_s, opts.stall_at_s));
  write_number(w, "others_fps_while_stalled",
               mean_fps(timeline, opts.stall_at_s, stall_end));
  write_number(w, "others_fps_after_close",
               mean_fps(timeline, stall_end, end_s));
  write_number(w, "server_rss_kib_per_1k_frames_before_stall",
               rss_per_1k_frames(timeline, opts.warmup_s, opts.stall_at_s));
  write_number(w, "server_rss_kib_per_1k_frames_while_stalled",
               rss_per_1k_frames(timeline, opts.stall_at_s, stall_end));
  write_number(w, "server_rss_kib_per_1k_frames_after_close",
               rss_per_1k_frames(timeline, stall_end, end_s));
  write_int(w, "server_rss_at_stall_kib", rss_stall);
  write_int(w, "server_rss_max_kib", rss_max);
  write_int(w, "server_rss_end_kib",
            timeline.empty() ? -1 : timeline.back().rss_kib);
  // Closed before it stalled means it could not keep up even while reading
  // (then the scenario measured nothing: give it a larger --slow-rcvbuf).
  w.Key("slow_closed_by_server");
  w.Bool(vanished_at > 0);
  write_number(w, "slow_closed_at_s", vanished_at);
  w.Key("slow_closed_before_stall");
  w.Bool(vanished_at > 0 && vanished_at < opts.stall_at_s);
  write_number(w, "slow_closed_after_stall_s",
               vanished_at > 0 ? vanished_at - opts.stall_at_s : -1);
  write_int(w, "slow_frames_read", static_cast<int64_t>(slow->frames.load()));
  write_number(w, "slow_end_seen_at_s", ended_at);
  write_int(w, "slow_close_code", close_code);
  write_string(w, "slow_close_reason", close_reason);
  write_string(w, "slow_end", ended ? end_error : "still open after draining");
  write_timeline(w, timeline);
  emit(w, buf, opts);
  return 0;
}

} // namespace parley::bench
