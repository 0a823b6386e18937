// The slow-consumer scenario: C chatting clients, plus one client that, at
// --stall-at, subscribes to a few of their conversations and stops reading.
// The main thread samples the server's RSS, the others' throughput and
// whether the server still lists the slow client, every --sample seconds;
// at the end the slow client reads again to learn how it was closed.
#include <algorithm>

#include <boost/asio/post.hpp>

#include "scenario_support.hpp"

namespace net = boost::asio;
using namespace std::chrono_literals;

namespace parley::bench {

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
  auto at = [&](double s) { return after(start, s); };
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
    next = after(next, opts.sample_s);
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
