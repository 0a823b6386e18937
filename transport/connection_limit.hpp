// Open TCP connections per remote address, so one client cannot take every
// file descriptor of the server. A connection holds a connection_slot from
// accept until its last session object (HTTP, SSE or WebSocket) is
// destroyed. Pure (addresses are strings), so unit tests call it directly.
#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace parley {

class connection_counter;

/// One counted connection; releases its count when destroyed. Move-only; an
/// empty slot (default-constructed or moved from) counts nothing.
class connection_slot {
 public:
  connection_slot() = default;
  connection_slot(connection_counter* owner, std::string address)
    : owner_(owner), address_(std::move(address)) {}
  connection_slot(connection_slot&& other) noexcept;
  connection_slot& operator=(connection_slot&& other) noexcept;
  connection_slot(const connection_slot&) = delete;
  connection_slot& operator=(const connection_slot&) = delete;
  ~connection_slot();

  explicit operator bool() const noexcept { return owner_ != nullptr; }

 private:
  void release() noexcept;

  connection_counter* owner_ = nullptr;
  std::string address_;
};

/// Thread-safe: the acceptor takes slots, any I/O thread frees them. Costs
/// one lock and one hash lookup per accept and per close. Must outlive every
/// slot it handed out (it lives in the transport context, which every
/// session holds).
class connection_counter {
 public:
  /// `limit` connections per address; 0 counts nothing and refuses nobody.
  explicit connection_counter(size_t limit) : limit_(limit) {}

  /// A slot for one more connection from `address` (an empty one when
  /// nothing is counted), or nullopt when that address already holds
  /// `limit` connections.
  std::optional<connection_slot> try_acquire(const std::string& address);

  /// Open connections counted for `address`.
  size_t count(const std::string& address) const;

  size_t limit() const noexcept { return limit_; }

 private:
  friend class connection_slot;
  void release(const std::string& address) noexcept;

  const size_t limit_;
  mutable std::mutex mtx_;
  std::unordered_map<std::string, size_t> open_;
};

} // namespace parley
