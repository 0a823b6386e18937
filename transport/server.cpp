#include "transport/server.hpp"

#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <caf/actor_system.hpp>
#include <spdlog/spdlog.h>

#include "transport/listener.hpp"
#include "transport/transport_context.hpp"
#include "transport/websocket_session.hpp"

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace parley {

namespace {

/// RFC 6455 7.4.1: "an endpoint is going away, such as a server going down".
constexpr uint16_t websocket_going_away = 1001;

} // namespace

struct server::impl {
  impl(caf::actor_system& sys, server_config cfg, server_deps deps)
    : ctx(std::make_shared<transport_context>(sys, std::move(cfg),
                                              std::move(deps))),
      ioc_owner(std::make_unique<net::io_context>(
        static_cast<int>(std::max<size_t>(ctx->cfg.threads, 1)))),
      ioc(*ioc_owner), signals(ioc, SIGINT, SIGTERM) {}

  ~impl() {
    shutdown();
    if (ctx->actor_lease.use_count() > 1) {
      // An actor still holds a frame sink or awaits a reply it would post
      // here; destroying the context under it is undefined behaviour. We
      // are exiting anyway, so let the context (and what it owns) leak.
      ctx->deps.log->warn("{} actor-side handles on the I/O context remain; "
                          "leaking it",
                          ctx->actor_lease.use_count() - 1);
      static_cast<void>(ioc_owner.release());
    }
  }

  std::error_code resolve(tcp::endpoint& out) {
    boost::system::error_code ec;
    auto addr = net::ip::make_address(ctx->cfg.host, ec);
    if (!ec) {
      out = tcp::endpoint{addr, ctx->cfg.port};
      return {};
    }
    // A name such as "localhost": resolving blocks, but only at startup.
    tcp::resolver resolver{ioc};
    auto results
      = resolver.resolve(ctx->cfg.host, std::to_string(ctx->cfg.port), ec);
    if (ec)
      return ec;
    out = results.begin()->endpoint();
    return {};
  }

  void run_thread() {
    // A handler that throws is a bug, but one connection's bug should not
    // take the server down: log it and keep serving.
    for (;;) {
      try {
        ioc.run();
        return;
      } catch (const std::exception& e) {
        ctx->deps.log->error("uncaught exception in an I/O handler: {}",
                             e.what());
      }
    }
  }

  void request_stop() {
    std::lock_guard<std::mutex> guard{mtx};
    stop_requested = true;
    cv.notify_all();
  }

  void shutdown() {
    if (threads.empty())
      return;
    stop_accepting();
    say_goodbye();
    // Whatever is still open now (idle keep-alive HTTP, peers that never
    // answered the close) is dropped.
    ioc.stop();
    for (auto& t : threads)
      t.join();
    threads.clear();
    // No I/O thread runs any more, so touching the sessions from here is
    // safe; their actors learn the connection is gone.
    for (auto& session : ctx->websockets.snapshot())
      session->notify_closed();
  }

  /// Closes the acceptor on its strand. Waits briefly: a wedged I/O thread
  /// must not keep the process from exiting.
  void stop_accepting() {
    auto closed = std::make_shared<std::promise<void>>();
    auto closed_future = closed->get_future();
    net::post(lst->get_executor(), [this, closed] {
      lst->stop();
      boost::system::error_code ec;
      signals.cancel(ec);
      closed->set_value();
    });
    closed_future.wait_for(std::chrono::seconds(1));
  }

  /// Closes every open WebSocket with 1001 and waits (bounded) for the
  /// close handshakes, so clients see a clean close rather than a reset.
  void say_goodbye() {
    for (auto& session : ctx->websockets.snapshot())
      session->post_close(websocket_going_away, "server shutting down");
    auto deadline = std::chrono::steady_clock::now() + ctx->cfg.close_timeout;
    while (ctx->websockets.size() > 0
           && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  transport_context_ptr ctx;
  /// Owned through a pointer so it can be leaked on purpose (see ~impl).
  std::unique_ptr<net::io_context> ioc_owner;
  net::io_context& ioc;
  net::signal_set signals;
  std::shared_ptr<listener> lst;
  tcp::endpoint bound;
  std::vector<std::thread> threads;
  std::mutex mtx;
  std::condition_variable cv;
  bool stop_requested = false;
};

server::server(caf::actor_system& sys, server_config cfg, server_deps deps)
  : impl_(std::make_unique<impl>(sys, std::move(cfg), std::move(deps))) {}

server::~server() = default;

std::error_code server::start() {
  auto& d = *impl_;
  tcp::endpoint endpoint;
  if (auto ec = d.resolve(endpoint))
    return ec;
  d.lst = std::make_shared<listener>(d.ioc, d.ctx);
  if (auto ec = d.lst->open(endpoint))
    return ec;
  d.bound = d.lst->local_endpoint();
  d.lst->run();
  d.signals.async_wait([&d](boost::system::error_code ec, int signo) {
    if (ec)
      return;
    d.ctx->deps.log->info("signal {} received, stopping", signo);
    d.request_stop();
  });
  for (size_t i = 0; i < std::max<size_t>(d.ctx->cfg.threads, 1); ++i)
    d.threads.emplace_back([&d] { d.run_thread(); });
  return {};
}

std::string server::host() const {
  return impl_->bound.address().to_string();
}

uint16_t server::port() const {
  return impl_->bound.port();
}

void server::request_stop() {
  impl_->request_stop();
}

void server::run_until_stopped() {
  auto& d = *impl_;
  {
    std::unique_lock<std::mutex> guard{d.mtx};
    d.cv.wait(guard, [&d] { return d.stop_requested; });
  }
  d.shutdown();
}

} // namespace parley
