// bench_summary: turns bench/results/<scenario>.json into the markdown
// tables of docs/benchmarks.md (parleyd next to the ceiling, with the
// issue's targets; then the memory store next to Redis) and writes the data
// files bench/run plots from (slow_<server>.dat, sweep.dat).
//
//   bench_summary bench/results > bench/results/summary.md
//
// Each <scenario>.json is {"scenario": S, "parleyd": [runs], "ceiling": [runs]}
// as bench/run writes it ("memory" and "redis" for persist; a single object
// instead of an array works too); a missing file or field shows as "–".
#include "summary.hpp"

#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <rapidjson/pointer.h>

namespace parley::bench {

namespace {

void idle_rows(const std::string& dir, std::vector<row>& rows) {
  auto doc = load(dir + "/idle.json", "/server_rss_per_connection_kib");
  auto n = number(doc, "parleyd", "/connections");
  auto p = number(doc, "parleyd", "/server_rss_per_connection_kib");
  rows.push_back(
    {"idle: server RSS per connection, KiB (N = " + fmt(n) + ")", "≤ 10",
     fmt(p, 1),
     fmt(number(doc, "ceiling", "/server_rss_per_connection_kib"), 1),
     ratio(p, number(doc, "ceiling", "/server_rss_per_connection_kib")),
     verdict(p, [](double v) { return v <= 10; })});
  rows.push_back(pair(doc, "idle: connections opened", "/opened"));
  rows.push_back(pair(doc, "idle: open time, s", "/open_time_s", 2));
  rows.push_back(pair(doc, "idle: open latency p99, ms", "/open_latency_us/p99",
                      1, "", 1e-3));
}

void stream_rows(const std::string& dir, std::vector<row>& rows) {
  auto doc = load(dir + "/stream.json", "/chunk_frames_per_s");
  auto p = number(doc, "parleyd", "/chunk_frames_per_s");
  auto c = number(doc, "ceiling", "/chunk_frames_per_s");
  std::optional<double> r;
  if (p && c && *c > 0)
    r = *p / *c;
  auto n = number(doc, "parleyd", "/connections");
  rows.push_back({"stream: chunk frames/s (C = " + fmt(n) + ")", "ratio ≥ 0.7",
                  fmt(p), fmt(c), ratio(p, c),
                  verdict(r, [](double v) { return v >= 0.7; })});
  rows.push_back(pair(doc, "stream: all frames/s", "/frames_per_s"));
  rows.push_back(pair(doc, "stream: runs/s", "/runs_per_s"));
  rows.push_back(pair(doc, "stream: event made → received p50, µs",
                      "/event_to_receipt_us/p50", 0, "report"));
  rows.push_back(pair(doc, "stream: event made → received p99, µs",
                      "/event_to_receipt_us/p99", 0, "report"));
  rows.push_back(pair(doc, "stream: chat → chat_session_start p50, µs",
                      "/chat_to_start_us/p50"));
  rows.push_back(pair(doc, "stream: chat → chat_session_start p99, µs",
                      "/chat_to_start_us/p99"));
  rows.push_back(pair(doc, "stream: frame inter-arrival p50, µs",
                      "/inter_arrival_us/p50", 1));
  rows.push_back(
    pair(doc, "stream: frame inter-arrival p99, µs", "/inter_arrival_us/p99"));
  rows.push_back(
    pair(doc, "stream: server CPU, cores", "/server_cpu_cores", 2));
  rows.push_back(pair(doc, "stream: server CPU per frame, µs",
                      "/server_cpu_us_per_frame", 1));
  rows.push_back(
    pair(doc, "stream: server RSS after, KiB", "/server_rss_after_kib"));
}

void cancel_rows(const std::string& dir, std::vector<row>& rows) {
  auto doc = load(dir + "/cancel.json", "/cancel_to_cancelled_us/p99");
  auto p = number(doc, "parleyd", "/cancel_to_cancelled_us/p99");
  rows.push_back(
    {"cancel: cancel → cancelled p99, µs", "≤ 2000", fmt(p),
     fmt(number(doc, "ceiling", "/cancel_to_cancelled_us/p99")),
     ratio(p, number(doc, "ceiling", "/cancel_to_cancelled_us/p99")),
     verdict(p, [](double v) { return v <= 2000; })});
  rows.push_back(pair(doc, "cancel: cancel → cancelled p50, µs",
                      "/cancel_to_cancelled_us/p50"));
  rows.push_back(pair(doc, "cancel: cancel → cancelled max, µs",
                      "/cancel_to_cancelled_us/max"));
  rows.push_back(pair(doc, "cancel: cancels sent", "/cancels_sent"));
  rows.push_back(
    pair(doc, "cancel: cancelled received", "/cancelled_received"));
  rows.push_back(pair(doc, "cancel: run finished before the cancel",
                      "/finished_before_cancel"));
  auto late = number(doc, "parleyd", "/late_frames_after_cancelled");
  rows.push_back({"cancel: frames of a run after its `cancelled`", "0",
                  fmt(late),
                  fmt(number(doc, "ceiling", "/late_frames_after_cancelled")),
                  "–", verdict(late, [](double v) { return v == 0; })});
}

void fanout_rows(const std::string& dir, std::vector<row>& rows) {
  auto doc = load(dir + "/fanout.json", "/frames_delivered_per_s");
  auto s = number(doc, "parleyd", "/subscribers");
  rows.push_back(pair(doc, "fanout: frames delivered/s (S = " + fmt(s) + ")",
                      "/frames_delivered_per_s", 0, "report"));
  rows.push_back(pair(doc, "fanout: writer runs/s", "/runs_per_s", 1));
  rows.push_back(pair(doc, "fanout: event made → received p50, ms",
                      "/event_to_receipt_us/p50", 1, "", 1e-3));
  rows.push_back(pair(doc, "fanout: event made → received p99, ms",
                      "/event_to_receipt_us/p99", 1, "", 1e-3));
  rows.push_back(pair(doc, "fanout: chat → subscriber's done p99, ms",
                      "/chat_to_subscriber_done_us/p99", 1, "", 1e-3));
  rows.push_back(
    pair(doc, "fanout: subscriber seq gaps", "/subscriber_seq_gaps"));
}

void slow_rows(const std::string& dir, std::vector<row>& rows) {
  auto doc = load(dir + "/slow.json", "/others_fps_while_stalled");
  auto closed = text_at(doc, "parleyd", "/slow_closed_by_server");
  auto code = fmt(number(doc, "parleyd", "/slow_close_code"));
  if (text_at(doc, "parleyd", "/slow_closed_before_stall") == "yes")
    closed = "before it stalled";
  rows.push_back({"slow: slow reader closed by the server (close code)",
                  "closed", closed + " (" + code + ")",
                  text_at(doc, "ceiling", "/slow_closed_by_server") + " ("
                    + fmt(number(doc, "ceiling", "/slow_close_code")) + ")",
                  "–", closed == "yes" ? "yes" : "**no**"});
  rows.push_back(pair(doc, "slow: closed after stalling, s",
                      "/slow_closed_after_stall_s", 1));
  rows.push_back(pair(doc,
                      "slow: server RSS growth per 1k frames before stall, KiB",
                      "/server_rss_kib_per_1k_frames_before_stall", 1));
  rows.push_back(pair(doc, "slow: … while stalled, KiB",
                      "/server_rss_kib_per_1k_frames_while_stalled", 1));
  rows.push_back(pair(doc, "slow: … after the close, KiB",
                      "/server_rss_kib_per_1k_frames_after_close", 1));
  rows.push_back(
    pair(doc, "slow: server RSS at stall, KiB", "/server_rss_at_stall_kib"));
  rows.push_back(pair(doc, "slow: server RSS max, KiB", "/server_rss_max_kib"));
  rows.push_back(pair(doc, "slow: others' frames/s before stall",
                      "/others_fps_before_stall"));
  rows.push_back(pair(doc, "slow: others' frames/s while stalled",
                      "/others_fps_while_stalled"));
  rows.push_back(pair(doc, "slow: others' frames/s after the close",
                      "/others_fps_after_close"));
}

/// Gnuplot data: the slow scenario's timelines, one file per server.
void write_plot_data(const std::string& dir) {
  auto res = load(dir + "/slow.json", "/others_fps_while_stalled");
  if (!res)
    return;
  for (const char* server : {"parleyd", "ceiling"}) {
    auto* run = res->of(server);
    auto* tl = run ? rapidjson::Pointer("/timeline").Get(*run) : nullptr;
    if (!tl || !tl->IsArray())
      continue;
    std::ofstream out{dir + "/slow_" + server + ".dat"};
    out << "# t server_rss_kib others_frames_per_s slow_listed\n";
    for (auto& x : tl->GetArray())
      out << x["t"].GetDouble() << ' ' << x["server_rss_kib"].GetInt64() << ' '
          << x["others_frames_per_s"].GetDouble() << ' '
          << (x["slow_listed"].GetBool() ? 1 : 0) << '\n';
  }
}

/// One row per scenario: how many runs, and how busy the machine was.
void conditions(const std::string& dir, std::vector<row>& rows) {
  // (sweep's runs are one per C, and persist has its own table.)
  for (const char* scenario :
       {"idle", "stream", "cancel", "fanout", "slow", "sse", "sse_held"}) {
    auto res = load(dir + "/" + scenario + ".json", "/loadavg_1m_at_start");
    if (!res)
      continue;
    auto runs = std::to_string(res->runs);
    rows.push_back(
      {std::string{scenario}
         + ": runs per server (median shown); "
           "1-min load average at start",
       "–",
       runs + "; " + fmt(number(res, "parleyd", "/loadavg_1m_at_start"), 1),
       runs + "; " + fmt(number(res, "ceiling", "/loadavg_1m_at_start"), 1),
       "–", "–"});
  }
}

} // namespace

} // namespace parley::bench

int main(int argc, char** argv) {
  using namespace parley::bench;
  if (argc != 2) {
    std::cerr << "usage: bench_summary RESULTS_DIR\n";
    return 2;
  }
  std::string dir = argv[1];
  std::vector<row> rows;
  idle_rows(dir, rows);
  stream_rows(dir, rows);
  cancel_rows(dir, rows);
  fanout_rows(dir, rows);
  slow_rows(dir, rows);
  sse_rows(dir, rows);
  sse_held_rows(dir, rows);
  sweep_rows(dir, rows);
  conditions(dir, rows);
  print(rows);
  print_persist(dir);
  write_plot_data(dir);
  write_sweep_data(dir);
  return 0;
}
