#include "tests/storage/redis_server.hpp"

#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <netinet/in.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <hiredis/hiredis.h>

extern char** environ;

namespace parley::testing {

namespace {

/// A port the kernel just handed out: free now, very likely still free in a
/// moment.
uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0
      || getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("no free port");
  close(fd);
  return ntohs(addr.sin_port);
}

bool answers_ping(uint16_t port) {
  timeval tv{0, 200000};
  auto* ctx = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (ctx == nullptr)
    return false;
  bool pong = false;
  if (ctx->err == 0) {
    redisSetTimeout(ctx, tv);
    if (auto* r = static_cast<redisReply*>(redisCommand(ctx, "PING"))) {
      pong = r->type == REDIS_REPLY_STATUS && std::string{r->str} == "PONG";
      freeReplyObject(r);
    }
  }
  redisFree(ctx);
  return pong;
}

} // namespace

redis_server::redis_server() {
  char tmpl[] = "/tmp/parley-redis-XXXXXX";
  if (mkdtemp(tmpl) == nullptr)
    throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  // Another process may take the port between free_port() and the bind.
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = free_port();
    if (launch())
      return;
  }
  std::filesystem::remove_all(dir_);
  throw std::runtime_error("redis-server did not start");
}

redis_server::~redis_server() {
  kill();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

bool redis_server::launch() {
  auto port = std::to_string(port_);
  auto log = dir_ + "/redis.log";
  std::vector<std::string> args{"redis-server",
                                "--port",
                                port,
                                "--bind",
                                "127.0.0.1",
                                "--save",
                                "",
                                "--appendonly",
                                "no",
                                "--dir",
                                dir_,
                                "--logfile",
                                log,
                                "--daemonize",
                                "no"};
  std::vector<char*> argv;
  for (auto& x : args)
    argv.push_back(x.data());
  argv.push_back(nullptr);
  if (posix_spawn(&pid_, "/usr/bin/redis-server", nullptr, nullptr, argv.data(),
                  environ)
      != 0)
    throw std::runtime_error("cannot run /usr/bin/redis-server");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
  while (std::chrono::steady_clock::now() < deadline) {
    if (answers_ping(port_))
      return true;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) { // it gave up (port taken)
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  kill();
  return false;
}

void redis_server::kill() {
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void redis_server::start() {
  kill();
  if (!launch())
    throw std::runtime_error("redis-server did not start again on port "
                             + std::to_string(port_));
}

void redis_server::pause() {
  ::kill(pid_, SIGSTOP);
}

void redis_server::resume() {
  ::kill(pid_, SIGCONT);
}

} // namespace parley::testing
