#include "storage/redis_connection.hpp"

#include <algorithm>
#include <csignal>
#include <pthread.h>
#include <string_view>
#include <sys/time.h>

#include <caf/error.hpp>
#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

namespace parley {

namespace {

constexpr std::chrono::milliseconds first_backoff{50};
constexpr std::chrono::milliseconds max_backoff{1000};

timeval to_timeval(std::chrono::milliseconds d) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

/// hiredis writes with write(2): to a peer that went away that raises
/// SIGPIPE, which ends the process. Blocked in this thread, write fails
/// with EPIPE instead (the signal stays pending on this thread, harmless).
void block_sigpipe() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

bool starts_with(const char* str, std::string_view prefix) {
  return std::string_view{str}.substr(0, prefix.size()) == prefix;
}

bool is_noscript(const redisReply& r) {
  return r.type == REDIS_REPLY_ERROR && starts_with(r.str, "NOSCRIPT");
}

} // namespace

void reply_deleter::operator()(redisReply* x) const noexcept {
  freeReplyObject(x);
}

caf::error from_error_reply(const redisReply& reply) {
  std::string_view text{reply.str, reply.len};
  for (auto busy : {"LOADING", "BUSY", "MASTERDOWN", "READONLY", "OOM",
                    "MISCONF", "TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS"})
    if (starts_with(reply.str, busy))
      return make_error(error_code::storage_unavailable,
                        "redis: " + std::string{text});
  return make_error(error_code::internal, "redis: " + std::string{text});
}

redis_connection::redis_connection(redis_store_config cfg)
  : cfg_(std::move(cfg)) {
  // Connects on the first call, on the worker's own thread.
}

redis_connection::~redis_connection() {
  if (ctx_ != nullptr)
    redisFree(ctx_);
}

std::string redis_connection::where() const {
  return cfg_.host + ":" + std::to_string(cfg_.port);
}

caf::error redis_connection::lost(const std::string& what) {
  if (cfg_.log)
    cfg_.log->warn("redis {}: connection lost: {}", where(), what);
  redisFree(ctx_);
  ctx_ = nullptr;
  last_error_ = what;
  // Reconnect on the next request (Redis restarted, or an idle connection
  // was closed); backoff starts only when connecting fails.
  retry_at_ = clock::time_point{};
  return make_error(error_code::storage_unavailable,
                    "redis at " + where() + ": " + what);
}

caf::error redis_connection::unreachable(const std::string& why) {
  if (ctx_ != nullptr) {
    redisFree(ctx_);
    ctx_ = nullptr;
  }
  if (cfg_.log && backoff_.count() == 0)
    cfg_.log->warn("redis {}: cannot connect: {}", where(), why);
  last_error_ = why;
  backoff_ = backoff_.count() == 0 ? first_backoff
                                   : std::min(backoff_ * 2, max_backoff);
  retry_at_ = clock::now() + backoff_;
  return make_error(error_code::storage_unavailable,
                    "redis at " + where() + " is unreachable: " + why);
}

caf::error redis_connection::ready() {
  if (ctx_ != nullptr)
    return {};
  auto now = clock::now();
  if (now < retry_at_) {
    auto wait
      = std::chrono::duration_cast<std::chrono::milliseconds>(retry_at_ - now);
    return make_error(error_code::storage_unavailable,
                      "redis at " + where() + " is unreachable (" + last_error_
                        + "); next attempt in " + std::to_string(wait.count())
                        + " ms");
  }
  block_sigpipe();
  auto tv = to_timeval(cfg_.io_timeout);
  ctx_ = redisConnectWithTimeout(cfg_.host.c_str(), cfg_.port, tv);
  ++round_trips_;
  if (ctx_ == nullptr)
    return unreachable("out of memory");
  if (ctx_->err != 0)
    return unreachable(ctx_->errstr);
  if (redisSetTimeout(ctx_, tv) != REDIS_OK)
    return unreachable("cannot set the socket timeout");
  if (cfg_.db != 0) {
    auto selected = exchange({{"SELECT", std::to_string(cfg_.db)}});
    if (!selected)
      return unreachable(last_error_);
    if (selected->front()->type == REDIS_REPLY_ERROR)
      return unreachable(selected->front()->str);
  }
  if (auto err = load_scripts())
    return unreachable(ctx_ != nullptr ? error_message(err) : last_error_);
  backoff_ = std::chrono::milliseconds{0};
  if (cfg_.log)
    cfg_.log->info("redis {}: connected (db {})", where(), cfg_.db);
  return {};
}

caf::error redis_connection::load_scripts() {
  std::vector<redis_command> cmds;
  for (size_t i = 0; i < redis_script_count; ++i)
    cmds.push_back(
      {"SCRIPT", "LOAD", script_source(static_cast<redis_script>(i))});
  auto replies = exchange(cmds);
  if (!replies)
    return replies.error();
  std::vector<std::string> shas;
  for (auto& r : *replies) {
    if (r->type != REDIS_REPLY_STRING)
      return r->type == REDIS_REPLY_ERROR
               ? from_error_reply(*r)
               : make_error(error_code::internal, "redis: SCRIPT LOAD");
    shas.emplace_back(r->str, r->len);
  }
  shas_ = std::move(shas);
  return {};
}

caf::expected<std::vector<reply_ptr>>
redis_connection::exchange(const std::vector<redis_command>& cmds) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (auto& cmd : cmds) {
    argv.clear();
    lens.clear();
    for (auto& word : cmd) {
      argv.push_back(word.data());
      lens.push_back(word.size());
    }
    if (redisAppendCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(),
                               lens.data())
        != REDIS_OK)
      return lost("out of memory");
  }
  // The first redisGetReply writes every appended command at once.
  ++round_trips_;
  std::vector<reply_ptr> out;
  out.reserve(cmds.size());
  for (size_t i = 0; i < cmds.size(); ++i) {
    void* reply = nullptr;
    if (redisGetReply(ctx_, &reply) != REDIS_OK || reply == nullptr)
      return lost(ctx_->errstr[0] != '\0' ? ctx_->errstr : "no reply");
    out.emplace_back(static_cast<redisReply*>(reply));
  }
  return out;
}

caf::expected<std::vector<reply_ptr>>
redis_connection::pipeline(const std::vector<redis_command>& cmds) {
  if (auto err = ready())
    return err;
  return exchange(cmds);
}

caf::expected<reply_ptr> redis_connection::call(const redis_command& cmd) {
  auto replies = pipeline({cmd});
  if (!replies)
    return replies.error();
  auto& r = replies->front();
  if (r->type == REDIS_REPLY_ERROR)
    return from_error_reply(*r);
  return std::move(r);
}

redis_command redis_connection::evalsha(redis_script s,
                                        std::vector<std::string> args) const {
  redis_command cmd;
  cmd.reserve(args.size() + 3);
  cmd.emplace_back("EVALSHA");
  cmd.push_back(shas_.at(static_cast<size_t>(s)));
  cmd.emplace_back("0");
  for (auto& x : args)
    cmd.push_back(std::move(x));
  return cmd;
}

caf::expected<reply_ptr>
redis_connection::eval(redis_script s, const std::vector<std::string>& args) {
  if (auto err = ready())
    return err;
  for (int attempt = 0;; ++attempt) {
    auto replies = exchange({evalsha(s, args)});
    if (!replies)
      return replies.error();
    auto& r = replies->front();
    if (attempt == 0 && is_noscript(*r)) {
      if (auto err = load_scripts())
        return err;
      continue;
    }
    if (r->type == REDIS_REPLY_ERROR)
      return from_error_reply(*r);
    return std::move(r);
  }
}

caf::expected<reply_ptr>
redis_connection::transaction(const std::vector<redis_command>& cmds) {
  auto outcomes = transactions({cmds});
  if (!outcomes)
    return outcomes.error();
  auto& only = outcomes->front();
  if (only.error)
    return std::move(only.error);
  return std::move(only.reply);
}

caf::expected<std::vector<redis_connection::exec_outcome>>
redis_connection::transactions(
  const std::vector<std::vector<redis_command>>& blocks) {
  std::vector<exec_outcome> out(blocks.size());
  std::vector<size_t> todo(blocks.size());
  for (size_t i = 0; i < todo.size(); ++i)
    todo[i] = i;
  for (int attempt = 0;; ++attempt) {
    std::vector<redis_command> all;
    for (auto i : todo) {
      all.push_back({"MULTI"});
      all.insert(all.end(), blocks[i].begin(), blocks[i].end());
      all.push_back({"EXEC"});
    }
    auto replies = pipeline(all);
    if (!replies)
      return replies.error();
    std::vector<size_t> again;
    size_t at = 0;
    for (auto i : todo) {
      at += blocks[i].size() + 1; // MULTI's OK and one QUEUED per command
      auto& exec = (*replies)[at++];
      if (exec->type == REDIS_REPLY_ERROR) { // EXECABORT: a command refused
        out[i].error = from_error_reply(*exec);
        continue;
      }
      if (exec->type != REDIS_REPLY_ARRAY
          || exec->elements != blocks[i].size()) {
        out[i].error
          = make_error(error_code::internal, "redis: EXEC gave no replies");
        continue;
      }
      auto missing = std::any_of(exec->element, exec->element + exec->elements,
                                 [](redisReply* r) { return is_noscript(*r); });
      if (missing && attempt == 0)
        again.push_back(i);
      else
        out[i].reply = std::move(exec);
    }
    if (again.empty())
      return out;
    if (auto err = load_scripts())
      return err;
    todo = std::move(again);
  }
}

} // namespace parley
