// A private redis-server for one test: a free loopback port (bound to port 0
// and released, since `--port 0` would turn TCP off), its own temporary
// directory, no persistence. Killed in the destructor.
//
//   test -> posix_spawn redis-server --port P --save "" --appendonly no ...
//        -> PING until PONG (deadline 10 s)
//        -> kill() / start() again on P, pause() / resume() (SIGSTOP/CONT)
#pragma once

#include <cstdint>
#include <string>
#include <sys/types.h>

namespace parley::testing {

class redis_server {
 public:
  /// Starts the server; throws std::runtime_error if it does not answer.
  redis_server();
  ~redis_server();

  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  uint16_t port() const { return port_; }

  /// SIGKILL, as a crash would: connections drop at once.
  void kill();
  /// Starts it again on the same port (empty: nothing was saved).
  void start();
  /// SIGSTOP: the port accepts connections, nothing answers.
  void pause();
  void resume();

 private:
  /// Spawns the process and waits for PING; false if it ended first.
  bool launch();

  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string dir_;
};

} // namespace parley::testing
