#include "server_process.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace parley::test {

namespace {

using clock_type = std::chrono::steady_clock;

constexpr std::string_view listening_prefix
  = "parleyd listening on http://127.0.0.1:";

std::string errno_text(const char* what) {
  return std::string{what} + ": " + std::strerror(errno);
}

exit_status decode_wait_status(int status) {
  exit_status out;
  if (WIFEXITED(status)) {
    out.exited = true;
    out.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    out.signal = WTERMSIG(status);
  }
  return out;
}

/// Runs in the forked child: only async-signal-safe calls until exec.
[[noreturn]] void exec_child(int stdout_fd, pid_t parent,
                             const std::vector<char*>& argv) {
  // The server dies with the test runner, even if the runner crashes.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent)
    ::_exit(127);
  if (::dup2(stdout_fd, STDOUT_FILENO) < 0)
    ::_exit(127);
  ::execv(argv[0], argv.data());
  ::_exit(127);
}

/// The port in `line`, or 0 when the line is not the listening line.
uint16_t port_of(const std::string& line) {
  if (line.compare(0, listening_prefix.size(), listening_prefix) != 0)
    return 0;
  auto digits = line.substr(listening_prefix.size());
  if (digits.empty() || digits.size() > 5
      || digits.find_first_not_of("0123456789") != std::string::npos)
    return 0;
  auto value = std::stoul(digits);
  return value > 0 && value <= 65535 ? static_cast<uint16_t>(value) : 0;
}

} // namespace

std::string to_string(const exit_status& status) {
  std::string out = status.exited
                      ? "exited with " + std::to_string(status.code)
                      : "killed by signal " + std::to_string(status.signal);
  if (status.killed_after_deadline)
    out += " (SIGKILLed after the stop deadline)";
  return out;
}

server_process::server_process(std::vector<std::string> extra_args) {
  std::vector<std::string> args{PARLEYD_PATH, "--listen", "127.0.0.1:0",
                                "--log-level", "warn"};
  // These tests are about other things: no authentication, no per-user
  // limits, unless a test passes the flag itself.
  const std::pair<const char*, const char*> open_defaults[]
    = {{"--auth", "none"},
       {"--rate-limit-rps", "0"},
       {"--chat-limit-per-min", "0"},
       {"--max-runs-per-user", "0"}};
  for (auto [flag, value] : open_defaults)
    if (std::find(extra_args.begin(), extra_args.end(), flag)
        == extra_args.end()) {
      args.emplace_back(flag);
      args.emplace_back(value);
    }
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (auto& arg : args) {
    argv.push_back(arg.data());
    command_line_ += (command_line_.empty() ? "" : " ") + arg;
  }
  argv.push_back(nullptr);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw std::runtime_error(errno_text("pipe2"));
  auto parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) {
    auto text = errno_text("fork");
    ::close(fds[0]);
    ::close(fds[1]);
    throw std::runtime_error(text);
  }
  if (pid_ == 0)
    exec_child(fds[1], parent, argv);
  ::close(fds[1]);
  stdout_fd_ = fds[0];
  try {
    wait_for_listening_line();
  } catch (...) {
    kill_and_reap();
    ::close(stdout_fd_);
    throw;
  }
}

server_process::~server_process() {
  if (running())
    stop();
  if (stdout_fd_ >= 0)
    ::close(stdout_fd_);
}

void server_process::wait_for_listening_line() {
  auto deadline = clock_type::now() + startup_deadline;
  std::string seen;
  auto fail = [&](const std::string& why) {
    throw std::runtime_error("parleyd did not start (" + why
                             + "); command: " + command_line_
                             + "; its stdout so far: '" + seen + "'");
  };
  for (;;) {
    if (auto eol = seen.find('\n'); eol != std::string::npos) {
      auto line = seen.substr(0, eol);
      port_ = port_of(line);
      if (port_ == 0)
        fail("unexpected first line");
      return;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - clock_type::now());
    if (left.count() <= 0)
      fail("no listening line within "
           + std::to_string(startup_deadline.count()) + " s");
    pollfd pfd{stdout_fd_, POLLIN, 0};
    int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR)
      fail(errno_text("poll"));
    if (ready <= 0)
      continue;
    char buf[256];
    auto n = ::read(stdout_fd_, buf, sizeof(buf));
    if (n < 0 && errno != EINTR)
      fail(errno_text("read"));
    if (n == 0)
      fail(wait_for_exit(std::chrono::seconds(2))
             ? "it " + to_string(status_) + " before printing it"
             : "it closed its stdout before printing it");
    if (n > 0)
      seen.append(buf, static_cast<size_t>(n));
  }
}

bool server_process::has_exited() {
  if (pid_ <= 0)
    return true;
  int status = 0;
  auto rc = ::waitpid(pid_, &status, WNOHANG);
  if (rc == pid_) {
    status_ = decode_wait_status(status);
    pid_ = -1;
    return true;
  }
  return false;
}

exit_status server_process::stop(std::chrono::milliseconds deadline) {
  if (pid_ <= 0)
    return status_;
  ::kill(pid_, SIGTERM);
  if (wait_for_exit(deadline))
    return status_;
  kill_and_reap();
  status_.killed_after_deadline = true;
  return status_;
}

bool server_process::wait_for_exit(std::chrono::milliseconds deadline) {
  // waitpid has no timeout: poll it with WNOHANG until the deadline.
  auto until = clock_type::now() + deadline;
  for (;;) {
    if (has_exited())
      return true;
    if (clock_type::now() >= until)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void server_process::kill_and_reap() noexcept {
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  status_ = decode_wait_status(status);
  pid_ = -1;
}

} // namespace parley::test
