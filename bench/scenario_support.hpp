// What the scenario files share: where the server is, waiting on the main
// thread, stopping clients, and the chat clients' report fields. The
// scenarios live in scenarios.cpp (idle, stream, cancel, fanout),
// slow_scenario.cpp and sse_scenarios.cpp.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "clients.hpp"

namespace parley::bench {

inline net::ip::tcp::endpoint server_endpoint(const options& opts) {
  return {net::ip::make_address(opts.host), opts.port};
}

/// `t` plus `seconds` (fractions allowed).
inline time_point after(time_point t, double seconds) {
  return t
         + std::chrono::duration_cast<clock_type::duration>(
           std::chrono::duration<double>(seconds));
}

/// Polls `done` every 10 ms until it holds or `timeout` passed.
template<class Pred>
bool wait_until(Pred done, clock_type::duration timeout) {
  auto deadline = clock_type::now() + timeout;
  while (!done()) {
    if (clock_type::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
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

/// The active_connections of GET /connections (-1 when unreadable), and
/// whether `id` is among its session_ids.
std::pair<int64_t, bool> connections_info(const options& opts,
                                          std::string_view id);

/// `count` chatting WebSocket clients, spread over the pool's threads and
/// already connecting; each on conversation prefix + i, or all on the
/// prefix itself.
std::vector<std::shared_ptr<chat_conn>>
start_chatters(client_pool& pool, const options& opts, stream_shared& shared,
               size_t count, const std::string& conversation_prefix,
               bool shared_conversation = false);

/// Throughput and latency fields common to stream, cancel and slow.
void write_stream_fields(json_writer& w, stream_totals& t, double secs);

} // namespace parley::bench
