// bench_summary: turns bench/results/<scenario>.json into the markdown table
// of docs/benchmarks.md (parleyd next to the ceiling, with the issue's
// targets) and writes the data files bench/run plots from.
//
//   bench_summary bench/results > bench/results/summary.md
//
// Each <scenario>.json is {"scenario": S, "parleyd": [runs], "ceiling": [runs]}
// as bench/run writes it (a single object instead of an array works too); a
// missing file or field shows as "–".
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/pointer.h>

namespace {

using rapidjson::Document;
using rapidjson::Value;

/// One scenario's results: per server the run the table shows. With
/// REPEAT > 1 bench/run stores every run in an array; the median run by the
/// scenario's key metric is shown, so one noisy run on a shared machine
/// does not decide the table.
struct result {
  Document doc;
  const Value* parleyd = nullptr;
  const Value* ceiling = nullptr;
  size_t runs = 1;

  const Value* of(const char* server) const {
    return std::string_view{server} == "parleyd" ? parleyd : ceiling;
  }
};

double key_of(const Value& run, const char* key) {
  auto* v = rapidjson::Pointer(key).Get(run);
  return v && v->IsNumber() ? v->GetDouble() : 0;
}

const Value* median_run(const Value& runs, const char* key) {
  if (runs.IsObject())
    return &runs;
  if (!runs.IsArray() || runs.Empty())
    return nullptr;
  std::vector<const Value*> xs;
  for (auto& r : runs.GetArray())
    xs.push_back(&r);
  std::sort(xs.begin(), xs.end(), [key](const Value* a, const Value* b) {
    return key_of(*a, key) < key_of(*b, key);
  });
  return xs[(xs.size() - 1) / 2];
}

std::optional<result> load(const std::string& path, const char* key) {
  std::ifstream in{path};
  if (!in)
    return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  std::optional<result> res{std::in_place};
  res->doc.Parse(text.str().c_str());
  auto& doc = res->doc;
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("parleyd")
      || !doc.HasMember("ceiling"))
    return std::nullopt;
  res->parleyd = median_run(doc["parleyd"], key);
  res->ceiling = median_run(doc["ceiling"], key);
  if (doc["parleyd"].IsArray())
    res->runs = doc["parleyd"].Size();
  return res;
}

/// The number at JSON pointer `ptr` in `server`'s run, if there is one.
std::optional<double> number(const std::optional<result>& res,
                             const char* server, const std::string& ptr) {
  if (!res || !res->of(server))
    return std::nullopt;
  auto* v = rapidjson::Pointer(ptr.c_str()).Get(*res->of(server));
  if (!v || !v->IsNumber())
    return std::nullopt;
  return v->GetDouble();
}

std::string text_at(const std::optional<result>& res, const char* server,
                    const std::string& ptr) {
  if (!res || !res->of(server))
    return "–";
  auto* v = rapidjson::Pointer(ptr.c_str()).Get(*res->of(server));
  if (!v)
    return "–";
  if (v->IsString())
    return v->GetString();
  if (v->IsBool())
    return v->GetBool() ? "yes" : "no";
  return "–";
}

std::string fmt(std::optional<double> v, int decimals = 0) {
  if (!v)
    return "–";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, *v);
  return buf;
}

struct row {
  std::string metric;
  std::string target;
  std::string parleyd;
  std::string ceiling;
  std::string ratio;
  std::string verdict;
};

void print(const std::vector<row>& rows) {
  std::cout << "| metric | target | parleyd | ceiling | parleyd / ceiling | "
               "meets target |\n|---|---|---|---|---|---|\n";
  for (auto& r : rows)
    std::cout << "| " << r.metric << " | " << r.target << " | " << r.parleyd
              << " | " << r.ceiling << " | " << r.ratio << " | " << r.verdict
              << " |\n";
}

std::string ratio(std::optional<double> a, std::optional<double> b) {
  if (!a || !b || *b == 0)
    return "–";
  return fmt(*a / *b, 2);
}

std::string verdict(std::optional<double> v,
                    const std::function<bool(double)>& ok) {
  if (!v)
    return "–";
  return ok(*v) ? "yes" : "**no**";
}

/// A plain metric: both servers' values and their ratio.
row pair(const std::optional<result>& doc, std::string metric,
         const std::string& ptr, int decimals = 0, std::string target = "",
         double scale = 1) {
  auto p = number(doc, "parleyd", ptr);
  auto c = number(doc, "ceiling", ptr);
  if (p)
    *p *= scale;
  if (c)
    *c *= scale;
  return {std::move(metric), target.empty() ? "–" : target,
          fmt(p, decimals),  fmt(c, decimals),
          ratio(p, c),       "–"};
}

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
  for (const char* scenario : {"idle", "stream", "cancel", "fanout", "slow"}) {
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

int main(int argc, char** argv) {
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
  conditions(dir, rows);
  print(rows);
  write_plot_data(dir);
  return 0;
}
