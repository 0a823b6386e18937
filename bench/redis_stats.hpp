// What a Redis server did between two moments, from its INFO: commands by
// name (INFO commandstats) and memory. The persist scenario reads it at the
// start and end of the measured window to count commands per run. One short
// blocking connection per reading; it speaks just enough RESP for INFO.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "loadgen.hpp"

namespace parley::bench {

/// One INFO reading; `ok` is false when Redis could not be asked.
struct redis_snapshot {
  bool ok = false;
  std::map<std::string, uint64_t> calls; ///< command (lower case) -> calls
  std::map<std::string, uint64_t> usec;  ///< command -> µs spent in it
  uint64_t total_commands = 0;           ///< total_commands_processed
  /// total_reads_processed: read events on client sockets. A client that
  /// waits for each reply (parleyd's store does) costs one per round trip.
  uint64_t reads = 0;
  int64_t used_memory_rss = -1; ///< bytes
  double cpu_s = 0; ///< used_cpu_user + used_cpu_sys: the whole process
};

/// Sends `INFO all` to host:port and parses the reply.
redis_snapshot read_redis_info(const std::string& host, uint16_t port);

/// Writes "redis": {round trips and commands per run, per command, memory}
/// for what happened between `a` and `b`; the readings' own INFO calls are
/// left out. Commands a Lua script runs count as commands (commandstats
/// counts them), so a run's EVALSHA shows up once as EVALSHA and again as
/// each command its script calls; round trips are the read events. Its
/// CPU per run is the process's (INFO cpu), so it includes the event
/// loop, the replies and the append-only file, not only the commands.
void write_redis_delta(json_writer& w, const redis_snapshot& a,
                       const redis_snapshot& b, uint64_t runs);

} // namespace parley::bench
