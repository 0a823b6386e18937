// loadgen: drives parleyd (or the ceiling server) with thousands of async
// WebSocket or SSE clients from a few threads and prints one JSON object per
// scenario. This file is the command line; the plumbing is loadgen.cpp, the
// scenarios scenarios.cpp, slow_scenario.cpp and sse_scenarios.cpp.
//
//   loadgen --port P --scenario stream --connections 50 --duration 10
//           --server-pid PID --label parleyd --out results.jsonl
#include <sys/resource.h>

#include <CLI/CLI.hpp>

#include "loadgen.hpp"

namespace {

void add_options(CLI::App& app, parley::bench::options& o) {
  app
    .add_option("--scenario", o.scenario,
                "idle, stream, cancel, fanout, slow, sse or sse_held")
    ->required()
    ->check(CLI::IsMember(
      {"idle", "stream", "cancel", "fanout", "slow", "sse", "sse_held"}));
  app.add_option("--host", o.host, "Server address")->capture_default_str();
  app.add_option("--port", o.port, "Server port")->required();
  app.add_option("--label", o.label, "Server name in the report");
  app.add_option("--threads", o.threads, "Load generator threads")
    ->capture_default_str();
  app.add_option("--server-pid", o.server_pid,
                 "Server process, for RSS and CPU readings");
  app.add_option("--out", o.out, "Append the JSON report to this file");
  app.add_option("--seed", o.seed, "Random seed (cancel)")
    ->capture_default_str();
  app
    .add_option("--connections,-n", o.connections,
                "idle: connections to open; stream/cancel/slow/sse: "
                "concurrent chatting clients; sse_held: streams to hold")
    ->capture_default_str();
  app
    .add_option("--sources", o.sources,
                "idle: bind to 127.0.0.1..127.0.0.N before connecting")
    ->check(CLI::Range(1, 254))
    ->capture_default_str();
  app
    .add_option("--connect-window", o.connect_window,
                "idle, sse_held: connects in flight at once")
    ->capture_default_str();
  app
    .add_option("--hold", o.hold_s,
                "idle, sse_held: seconds to hold the connections open")
    ->capture_default_str();
  app
    .add_option("--duration,-d", o.duration_s,
                "Seconds of load, warm-up included")
    ->capture_default_str();
  app.add_option("--warmup", o.warmup_s, "Seconds not counted at the start")
    ->capture_default_str();
  app.add_option("--message", o.message, "The chat message (SSE: the query)")
    ->capture_default_str();
  app
    .add_option("--redis-port", o.redis_port,
                "stream: read this Redis's INFO at the start and end of the "
                "measured window (commands per run)")
    ->capture_default_str();
  app.add_option("--redis-host", o.redis_host, "stream: the Redis's address")
    ->capture_default_str();
  app
    .add_option("--cancel-probability", o.cancel_probability,
                "cancel: share of runs cancelled")
    ->capture_default_str();
  app
    .add_option("--cancel-after-max", o.cancel_after_max,
                "cancel: cancel after k chunks, k uniform in 1..this")
    ->capture_default_str();
  app.add_option("--samples-out", o.samples_out,
                 "cancel: append every cancel -> cancelled latency to this "
                 "file, one value in microseconds per line");
  app
    .add_option("--open-timeout", o.open_timeout_s,
                "sse_held: seconds all streams may take to open")
    ->capture_default_str();
  app.add_option("--subscribers", o.subscribers, "fanout: subscribers")
    ->capture_default_str();
  app
    .add_option("--stall-at", o.stall_at_s,
                "slow: second the slow client stops reading")
    ->capture_default_str();
  app
    .add_option("--slow-rcvbuf", o.slow_rcvbuf,
                "slow: the slow client's SO_RCVBUF")
    ->capture_default_str();
  app
    .add_option("--slow-follows", o.slow_follows,
                "slow: how many chatting clients' conversations the slow "
                "client follows")
    ->capture_default_str();
  app.add_option("--sample", o.sample_s, "slow: seconds between samples")
    ->capture_default_str();
  app
    .add_option("--drain", o.drain_s,
                "slow: seconds the slow client reads at the end to learn how "
                "it was closed")
    ->capture_default_str();
}

} // namespace

int main(int argc, char** argv) {
  using namespace parley::bench;
  CLI::App app{
    "loadgen: WebSocket and SSE load for parleyd and the ceiling server"};
  options opts;
  add_options(app, opts);
  CLI11_PARSE(app, argc, argv);
  if (opts.label.empty())
    opts.label = opts.host + ":" + std::to_string(opts.port);
  // Thousands of sockets: lift the soft descriptor limit to the hard one.
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  if (opts.scenario == "idle")
    return run_idle(opts);
  if (opts.scenario == "stream")
    return run_stream(opts, false);
  if (opts.scenario == "cancel")
    return run_stream(opts, true);
  if (opts.scenario == "fanout")
    return run_fanout(opts);
  if (opts.scenario == "sse")
    return run_sse(opts);
  if (opts.scenario == "sse_held")
    return run_sse_held(opts);
  return run_slow(opts);
}
