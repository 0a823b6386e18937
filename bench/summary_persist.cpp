// The persist table: the stream scenario on parleyd with --store redis next
// to --store memory, and what the Redis store asked of Redis per run.
#include <cctype>
#include <iostream>

#include <rapidjson/pointer.h>

#include "summary.hpp"

namespace parley::bench {

namespace {

/// Per command (EVALSHA, MULTI, EXEC, …), the calls per run on Redis.
void command_rows(const std::optional<result>& doc, std::vector<row>& rows) {
  auto* run = doc->of("redis");
  auto* by = run ? rapidjson::Pointer("/redis/by_command").Get(*run) : nullptr;
  if (!by || !by->IsObject())
    return;
  for (auto& m : by->GetObject()) {
    std::string name{m.name.GetString(), m.name.GetStringLength()};
    for (auto& c : name)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto per_run = number(doc, "redis",
                          "/redis/by_command/" + std::string{m.name.GetString()}
                            + "/per_run");
    rows.push_back({"persist: … of them " + name + " per run", "–",
                    fmt(per_run, 2), "–", "–", "–"});
  }
}

} // namespace

void print_persist(const std::string& dir) {
  auto doc
    = load(dir + "/persist.json", "/chunk_frames_per_s", "redis", "memory");
  if (!doc)
    return;
  std::vector<row> rows;
  auto r = number(doc, "redis", "/chunk_frames_per_s");
  auto m = number(doc, "memory", "/chunk_frames_per_s");
  std::optional<double> share;
  if (r && m && *m > 0)
    share = *r / *m;
  auto n = number(doc, "redis", "/connections");
  rows.push_back({"persist: chunk frames/s (C = " + fmt(n) + ")",
                  "redis / memory ≥ 0.8", fmt(r), fmt(m), ratio(r, m),
                  verdict(share, [](double v) { return v >= 0.8; })});
  rows.push_back(pair(doc, "persist: all frames/s", "/frames_per_s"));
  rows.push_back(pair(doc, "persist: runs/s", "/runs_per_s"));
  rows.push_back(pair(doc, "persist: chat → chat_session_start p99, µs",
                      "/chat_to_start_us/p99"));
  rows.push_back(
    pair(doc, "persist: frame inter-arrival p99, µs", "/inter_arrival_us/p99"));
  rows.push_back(
    pair(doc, "persist: server CPU, cores", "/server_cpu_cores", 2));
  rows.push_back(
    pair(doc, "persist: server RSS after, KiB", "/server_rss_after_kib"));
  rows.push_back({"persist: Redis round trips per run (read events)", "report",
                  fmt(number(doc, "redis", "/redis/round_trips_per_run"), 1),
                  "–", "–", "–"});
  rows.push_back(
    {"persist: Redis commands per run (commandstats, scripts' included)",
     "report", fmt(number(doc, "redis", "/redis/commands_per_run"), 1), "–",
     "–", "–"});
  rows.push_back({"persist: redis-server CPU per run, µs (INFO cpu)", "report",
                  fmt(number(doc, "redis", "/redis/cpu_us_per_run"), 0), "–",
                  "–", "–"});
  rows.push_back(
    {"persist: … of it in EVALSHA (commandstats usec), µs", "–",
     fmt(number(doc, "redis", "/redis/by_command/evalsha/usec_per_run"), 0),
     "–", "–", "–"});
  rows.push_back(
    {"persist: … in EXEC (its commands included), µs", "–",
     fmt(number(doc, "redis", "/redis/by_command/exec/usec_per_run"), 0), "–",
     "–", "–"});
  command_rows(doc, rows);
  auto rss = number(doc, "redis", "/redis/used_memory_rss_after");
  if (rss)
    *rss /= 1 << 20;
  rows.push_back(
    {"persist: redis-server RSS after, MiB", "–", fmt(rss, 1), "–", "–", "–"});
  auto runs = std::to_string(doc->runs);
  rows.push_back(
    {"persist: runs per store (median shown); 1-min load average at start", "–",
     runs + "; " + fmt(number(doc, "redis", "/loadavg_1m_at_start"), 1),
     runs + "; " + fmt(number(doc, "memory", "/loadavg_1m_at_start"), 1), "–",
     "–"});
  std::cout << "\nPersistence cost: the stream scenario on parleyd with "
               "`--store redis` (appendonly, fsync every second) next to "
               "`--store memory`.\n\n";
  print(rows, "redis", "memory");
}

} // namespace parley::bench
