// The sweep: the stream scenario at several C. sweep.json holds every run of
// both servers, each with its "connections"; per C and server the median
// run by chunk frames/s is shown, and written to sweep.dat for the plot.
#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include <rapidjson/pointer.h>

#include "summary.hpp"

namespace parley::bench {

namespace {

struct sweep_point {
  std::optional<double> chunk_fps[2];
  std::optional<double> fps[2];
};

/// C -> the two servers' median runs.
std::map<int64_t, sweep_point> sweep_points(const std::string& dir) {
  std::map<int64_t, sweep_point> out;
  std::ifstream in{dir + "/sweep.json"};
  if (!in)
    return out;
  std::stringstream text;
  text << in.rdbuf();
  Document doc;
  doc.Parse(text.str().c_str());
  if (doc.HasParseError() || !doc.IsObject())
    return out;
  const char* servers[2] = {"parleyd", "ceiling"};
  for (int s = 0; s < 2; ++s) {
    auto it = doc.FindMember(servers[s]);
    if (it == doc.MemberEnd() || !it->value.IsArray())
      continue;
    std::map<int64_t, std::vector<const Value*>> by_c;
    for (auto& run : it->value.GetArray())
      if (run.IsObject() && run.HasMember("connections"))
        by_c[static_cast<int64_t>(key_of(run, "/connections"))].push_back(&run);
    for (auto& [c, runs] : by_c) {
      std::sort(runs.begin(), runs.end(), [](const Value* a, const Value* b) {
        return key_of(*a, "/chunk_frames_per_s")
               < key_of(*b, "/chunk_frames_per_s");
      });
      auto* median = runs[(runs.size() - 1) / 2];
      out[c].chunk_fps[s] = key_of(*median, "/chunk_frames_per_s");
      out[c].fps[s] = key_of(*median, "/frames_per_s");
    }
  }
  return out;
}

} // namespace

void sweep_rows(const std::string& dir, std::vector<row>& rows) {
  for (auto& [c, p] : sweep_points(dir)) {
    std::optional<double> r;
    if (p.chunk_fps[0] && p.chunk_fps[1] && *p.chunk_fps[1] > 0)
      r = *p.chunk_fps[0] / *p.chunk_fps[1];
    rows.push_back({"sweep: chunk frames/s at C = " + std::to_string(c),
                    "ratio ≥ 0.7", fmt(p.chunk_fps[0]), fmt(p.chunk_fps[1]),
                    ratio(p.chunk_fps[0], p.chunk_fps[1]),
                    verdict(r, [](double v) { return v >= 0.7; })});
  }
}

void write_sweep_data(const std::string& dir) {
  auto points = sweep_points(dir);
  if (points.empty())
    return;
  std::ofstream out{dir + "/sweep.dat"};
  out << "# C parleyd_chunk_fps ceiling_chunk_fps parleyd/ceiling "
         "parleyd_fps ceiling_fps\n";
  for (auto& [c, p] : points) {
    // gnuplot leaves out a NaN point.
    auto v = [](std::optional<double> x) {
      return x ? std::to_string(*x) : std::string{"NaN"};
    };
    std::optional<double> r;
    if (p.chunk_fps[0] && p.chunk_fps[1] && *p.chunk_fps[1] > 0)
      r = *p.chunk_fps[0] / *p.chunk_fps[1];
    out << c << ' ' << v(p.chunk_fps[0]) << ' ' << v(p.chunk_fps[1]) << ' '
        << v(r) << ' ' << v(p.fps[0]) << ' ' << v(p.fps[1]) << '\n';
  }
}

} // namespace parley::bench
