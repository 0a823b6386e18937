// Tunables the actors read, filled from the command line by parleyd and
// directly by tests. Passed in at spawn time; nothing reads a global.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace spdlog {
class logger;
} // namespace spdlog

#include "security/rate_limiter.hpp"

namespace parley {

struct server_options {
  /// Pause between two steps of a run; 0 streams as fast as possible.
  std::chrono::milliseconds token_interval{20};
  /// WebSocket ping period; a peer silent for two periods is closed.
  std::chrono::seconds heartbeat{30};
  /// How long an actor waits for the store before answering
  /// storage_unavailable.
  std::chrono::milliseconds store_timeout{5000};
  /// After a failed store write, how long a chat session waits before it
  /// writes the run's unsaved events (and final record) again.
  std::chrono::milliseconds store_retry{1000};
  /// Events of a run are written to the store in batches of at most this
  /// many, or every flush_interval, whichever comes first.
  size_t event_batch = 128;
  std::chrono::milliseconds flush_interval{50};
  /// Finished runs whose event logs a chat session keeps in memory for
  /// replay; older ones are read back from the store.
  size_t recent_runs_kept = 4;
  std::string default_agent = "researcher";
  /// This process's name among the nodes sharing one store (--node-id):
  /// at start-up it ends as interrupted only the runs it left in flight.
  std::string node_id;
  /// Runs one user may have queued or running at once on this node (0: no
  /// limit); more are refused with too_many_runs.
  size_t max_runs_per_user = 8;
  /// Chat messages (new runs) per user, over WebSocket and REST alike; null
  /// or disabled: no limit.
  rate_limiter_ptr chat_messages;
};

using logger_ptr = std::shared_ptr<spdlog::logger>;

} // namespace parley
