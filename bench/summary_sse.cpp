// The rows of the SSE scenarios: throughput of back-to-back runs (sse) and
// streams held at once on slow runs (sse_held), parleyd next to the ceiling.
#include "summary.hpp"

namespace parley::bench {

namespace {

/// "all C at once": the count, and whether it reached the number asked for.
row all_at_once(const std::optional<result>& doc, std::string metric,
                const std::string& count_ptr, const std::string& asked_ptr) {
  auto p = number(doc, "parleyd", count_ptr);
  auto c = number(doc, "ceiling", count_ptr);
  auto asked = number(doc, "parleyd", asked_ptr);
  std::optional<double> short_by;
  if (p && asked)
    short_by = *asked - *p;
  return {std::move(metric),
          "= " + fmt(asked),
          fmt(p),
          fmt(c),
          ratio(p, c),
          verdict(short_by, [](double v) { return v <= 0; })};
}

row zero_errors(const std::optional<result>& doc, std::string metric) {
  auto p = number(doc, "parleyd", "/errors");
  return {std::move(metric),
          "0",
          fmt(p),
          fmt(number(doc, "ceiling", "/errors")),
          "–",
          verdict(p, [](double v) { return v == 0; })};
}

} // namespace

void sse_rows(const std::string& dir, std::vector<row>& rows) {
  auto doc = load(dir + "/sse.json", "/events_per_s");
  if (!doc)
    return;
  auto n = number(doc, "parleyd", "/connections");
  rows.push_back(pair(doc, "sse: events/s (C = " + fmt(n) + ")",
                      "/events_per_s", 0, "report"));
  rows.push_back(pair(doc, "sse: chunk events/s", "/chunk_events_per_s"));
  rows.push_back(pair(doc, "sse: runs/s", "/runs_per_s"));
  rows.push_back(all_at_once(doc, "sse: streams open at once, max",
                             "/streams_open_max", "/connections"));
  rows.push_back(pair(doc, "sse: streams open, mean over the window",
                      "/streams_open_mean", 1));
  rows.push_back(pair(doc, "sse: event made → received p50, µs",
                      "/event_to_receipt_us/p50"));
  rows.push_back(pair(doc, "sse: event made → received p99, µs",
                      "/event_to_receipt_us/p99"));
  rows.push_back(pair(doc, "sse: POST → first event p50, µs",
                      "/post_to_first_event_us/p50"));
  rows.push_back(pair(doc, "sse: POST → first event p99, µs",
                      "/post_to_first_event_us/p99"));
  rows.push_back(
    pair(doc, "sse: event inter-arrival p50, µs", "/inter_arrival_us/p50", 1));
  rows.push_back(
    pair(doc, "sse: event inter-arrival p99, µs", "/inter_arrival_us/p99"));
  rows.push_back(pair(doc, "sse: server CPU, cores", "/server_cpu_cores", 2));
  rows.push_back(
    pair(doc, "sse: server CPU per event, µs", "/server_cpu_us_per_event", 1));
  rows.push_back(
    pair(doc, "sse: server RSS after, KiB", "/server_rss_after_kib"));
  rows.push_back(zero_errors(doc, "sse: errors (refused, cut, error events)"));
}

void sse_held_rows(const std::string& dir, std::vector<row>& rows) {
  auto doc = load(dir + "/sse_held.json", "/server_rss_per_held_stream_kib");
  if (!doc)
    return;
  rows.push_back(all_at_once(doc, "sse held: streams held at once, max",
                             "/held_max", "/streams"));
  rows.push_back(pair(doc, "sse held: server RSS per held stream, KiB",
                      "/server_rss_per_held_stream_kib", 1, "report"));
  rows.push_back(
    pair(doc, "sse held: server RSS while held, KiB", "/server_rss_held_kib"));
  rows.push_back(
    pair(doc, "sse held: time to open them all, s", "/open_time_s", 2));
  rows.push_back(pair(doc, "sse held: POST → first event p99, ms",
                      "/post_to_first_event_us/p99", 1, "", 1e-3));
  rows.push_back(zero_errors(doc, "sse held: errors"));
}

} // namespace parley::bench
