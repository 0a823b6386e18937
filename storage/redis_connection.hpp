// One blocking hiredis connection with reconnect and backoff. Owned by one
// redis_worker (a detached actor) and used only from its thread: neither this
// class nor the redisContext inside is thread-safe.
//
// Failure model: any I/O error or timeout drops the context (hiredis cannot
// reuse it) and the call fails with storage_unavailable. The next call
// connects again at once; if that fails too, later calls fail fast without
// touching the network until a backoff (50 ms doubling to 1 s) has passed.
// Every connect, send and receive is bounded by cfg.io_timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "storage/redis_scripts.hpp"
#include "storage/redis_store.hpp"

struct redisContext;
struct redisReply;

namespace parley {

struct reply_deleter {
  void operator()(redisReply* x) const noexcept;
};

using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

/// The words of one Redis command (binary-safe).
using redis_command = std::vector<std::string>;

class redis_connection {
 public:
  explicit redis_connection(redis_store_config cfg);
  ~redis_connection();
  redis_connection(const redis_connection&) = delete;
  redis_connection& operator=(const redis_connection&) = delete;

  /// Sends `cmds` in one round trip; their replies in order. A reply may be
  /// a Redis error reply: the caller decides what it means.
  caf::expected<std::vector<reply_ptr>>
  pipeline(const std::vector<redis_command>& cmds);

  /// One command; a Redis error reply becomes an error.
  caf::expected<reply_ptr> call(const redis_command& cmd);

  /// Runs one of our scripts (EVALSHA), loading the scripts again if Redis
  /// lost them (NOSCRIPT, e.g. after SCRIPT FLUSH).
  caf::expected<reply_ptr> eval(redis_script s,
                                const std::vector<std::string>& args);

  /// Connects (selecting the db and loading the scripts) unless connected;
  /// storage_unavailable if Redis cannot be reached.
  caf::error ready();

  /// The EVALSHA command of `s`, for pipelines and transactions; valid once
  /// ready() succeeded (script hashes never change after that).
  redis_command evalsha(redis_script s, std::vector<std::string> args) const;

  /// MULTI, `cmds`, EXEC in one round trip; EXEC's reply, an array with one
  /// reply per command. If a script was missing it loads them and runs the
  /// transaction again, so `cmds` must be idempotent.
  caf::expected<reply_ptr> transaction(const std::vector<redis_command>& cmds);

  /// What one MULTI ... EXEC of transactions() came to: EXEC's reply, or
  /// why there is none (the block was refused, EXECABORT).
  struct exec_outcome {
    reply_ptr reply;
    caf::error error;
  };

  /// Several transactions in one round trip, each its own MULTI ... EXEC,
  /// run by Redis in order; one outcome per block. A block that met a
  /// missing script runs again once the scripts are loaded (as in
  /// transaction()). Fails as a whole only if the connection did.
  caf::expected<std::vector<exec_outcome>>
  transactions(const std::vector<std::vector<redis_command>>& blocks);

  /// Round trips made so far (connects included).
  uint64_t round_trips() const noexcept { return round_trips_; }

  const redis_store_config& config() const noexcept { return cfg_; }

 private:
  using clock = std::chrono::steady_clock;

  caf::error load_scripts();
  /// Sends `cmds` and reads their replies on the current context.
  caf::expected<std::vector<reply_ptr>>
  exchange(const std::vector<redis_command>& cmds);
  /// Drops the context after an I/O error and returns storage_unavailable.
  caf::error lost(const std::string& what);
  /// After a failed connect: waits a longer backoff before the next one.
  caf::error unreachable(const std::string& why);
  std::string where() const;

  redis_store_config cfg_;
  redisContext* ctx_ = nullptr;
  std::vector<std::string> shas_;
  clock::time_point retry_at_;
  std::chrono::milliseconds backoff_{0};
  std::string last_error_;
  uint64_t round_trips_ = 0;
};

/// The error a Redis error reply stands for: storage_unavailable for a
/// server that cannot serve now (LOADING, BUSY, OOM, READONLY, ...),
/// internal for anything else (a bug of ours).
caf::error from_error_reply(const redisReply& reply);

} // namespace parley
