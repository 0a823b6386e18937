// A real parleyd for one test: started on 127.0.0.1 port 0, its port read
// from the one line it prints once bound, stopped with SIGTERM at the end.
//
//   test -> fork/exec parleyd --listen 127.0.0.1:0 ... (stdout: a pipe)
//        <- "parleyd listening on http://127.0.0.1:PORT"
//        -> SIGTERM on stop() or in the destructor; SIGKILL past the deadline
//
// The server's stderr is inherited, so its log shows up next to a failing
// test's output.
#pragma once

#include <chrono>
#include <string>
#include <sys/types.h>
#include <vector>

namespace parley::test {

/// How a parleyd process ended.
struct exit_status {
  bool exited = false; ///< true: it returned from main or called exit
  int code = -1;       ///< the exit code, when `exited`
  int signal = 0;      ///< the signal that ended it, when it did not exit
  bool killed_after_deadline = false; ///< SIGTERM was not enough
};

/// "exited with 0", "killed by signal 9 (after the stop deadline)", ...
std::string to_string(const exit_status& status);

/// One parleyd child process. Not copyable; stopped when destroyed.
class server_process {
 public:
  /// How long start-up may take before the constructor throws.
  static constexpr std::chrono::seconds startup_deadline{20};
  /// How long SIGTERM may take before SIGKILL.
  static constexpr std::chrono::seconds stop_deadline{15};

  /// Starts `PARLEYD_PATH --listen 127.0.0.1:0 --log-level warn <extra>`
  /// and waits for the listening line. Throws std::runtime_error (the child
  /// killed and reaped) when the line does not come within
  /// startup_deadline or the process ends first.
  explicit server_process(std::vector<std::string> extra_args = {});

  ~server_process();

  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  uint16_t port() const { return port_; }

  pid_t pid() const { return pid_; }

  /// True until stop() reaped the process.
  bool running() const { return pid_ > 0; }

  /// Sends SIGTERM and waits up to `deadline` for the process to end, then
  /// SIGKILLs it. Idempotent: later calls return the first result.
  exit_status stop(std::chrono::milliseconds deadline = stop_deadline);

  /// Whether the process already ended by itself (reaps it if so).
  bool has_exited();

 private:
  void wait_for_listening_line();
  /// Reaps the process if it ends within `deadline`; false if it did not.
  bool wait_for_exit(std::chrono::milliseconds deadline);
  void kill_and_reap() noexcept;

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  uint16_t port_ = 0;
  exit_status status_;
  std::string command_line_;
};

} // namespace parley::test
