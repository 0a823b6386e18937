// bench_summary's parts: loading a results/<scenario>.json, picking the
// median run, and the markdown rows. summary.cpp has main and the WebSocket
// scenarios' rows; summary_sse.cpp, summary_persist.cpp and
// summary_sweep.cpp the rest.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <rapidjson/document.h>

namespace parley::bench {

using rapidjson::Document;
using rapidjson::Value;

/// One scenario's results: per server the run the table shows. With
/// REPEAT > 1 bench/run stores every run in an array; the median run by the
/// scenario's key metric is shown, so one noisy run on a shared machine
/// does not decide the table. The two servers are parleyd and the ceiling,
/// or, in persist, parleyd on the memory store and on Redis.
struct result {
  Document doc;
  std::string name[2] = {"parleyd", "ceiling"};
  const Value* run[2] = {nullptr, nullptr};
  size_t runs = 1;

  const Value* of(const std::string& server) const {
    return server == name[0] ? run[0] : server == name[1] ? run[1] : nullptr;
  }
};

/// The number at JSON pointer `key` in `run`, or 0.
double key_of(const Value& run, const char* key);
/// The median of `runs` (an array, or one object) by `key`.
const Value* median_run(const Value& runs, const char* key);
/// `path` as a result, the median run of each server by `key`.
std::optional<result> load(const std::string& path, const char* key,
                           const std::string& first = "parleyd",
                           const std::string& second = "ceiling");

/// The number at JSON pointer `ptr` in `server`'s run, if there is one.
std::optional<double> number(const std::optional<result>& res,
                             const std::string& server, const std::string& ptr);
/// A string or bool at `ptr` as text, else "–".
std::string text_at(const std::optional<result>& res, const std::string& server,
                    const std::string& ptr);
std::string fmt(std::optional<double> v, int decimals = 0);
std::string ratio(std::optional<double> a, std::optional<double> b);
std::string verdict(std::optional<double> v,
                    const std::function<bool(double)>& ok);

struct row {
  std::string metric;
  std::string target;
  std::string first;  ///< parleyd (persist: memory)
  std::string second; ///< ceiling (persist: redis)
  std::string ratio;
  std::string verdict;
};

/// A markdown table: metric, target, both servers, their ratio, verdict.
void print(const std::vector<row>& rows, const std::string& first = "parleyd",
           const std::string& second = "ceiling");

/// A plain metric: both servers' values and their ratio (first / second).
row pair(const std::optional<result>& doc, std::string metric,
         const std::string& ptr, int decimals = 0, std::string target = "",
         double scale = 1);

// -- rows of the newer scenarios ------------------------------------------

void sse_rows(const std::string& dir, std::vector<row>& rows);
void sse_held_rows(const std::string& dir, std::vector<row>& rows);
void sweep_rows(const std::string& dir, std::vector<row>& rows);
/// Writes sweep.dat for bench/run's plot.
void write_sweep_data(const std::string& dir);
/// Prints the persist table (memory store next to Redis), if there is one.
void print_persist(const std::string& dir);

} // namespace parley::bench
