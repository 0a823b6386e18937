// ceiling_server: the listener, the HTTP side and main of the ceiling (see
// ceiling.hpp). Takes parleyd's command line, so `bench/run` and the load
// generator can drive either server the same way:
//
//   ceiling_server --listen 127.0.0.1:0 --threads 2
//   -> "parleyd listening on http://127.0.0.1:PORT"   (same line, same parser)
//
// --token-interval-ms paces a run's frames (WebSocket and SSE alike) as in
// parleyd; --log-level and --store are accepted and ignored (the ceiling
// logs and stores nothing).
#include <csignal>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>

#include "ceiling.hpp"

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace parley::bench {

// -- shared state -------------------------------------------------------------

ceiling_state::ceiling_state(ceiling_config cfg)
  : cfg_(cfg), rng_(std::random_device{}()) {}

void ceiling_state::add(ceiling_session* s, const std::string& session_id) {
  std::lock_guard<std::mutex> guard{mtx_};
  open_.emplace(s, session_id);
}

void ceiling_state::remove(ceiling_session* s) {
  std::lock_guard<std::mutex> guard{mtx_};
  open_.erase(s);
}

std::string ceiling_state::connections_json() {
  std::lock_guard<std::mutex> guard{mtx_};
  std::string out = R"({"active_connections":)" + std::to_string(open_.size())
                    + R"(,"session_ids":[)";
  bool first = true;
  for (auto& [ptr, id] : open_) {
    out += first ? "\"" : ",\"";
    out += json_escape(id);
    out += '"';
    first = false;
  }
  return out + "]}";
}

void ceiling_state::subscribe(const std::string& conversation,
                              std::weak_ptr<ceiling_session> s) {
  std::lock_guard<std::mutex> guard{mtx_};
  subscribers_[conversation].push_back(std::move(s));
}

std::vector<std::shared_ptr<ceiling_session>>
ceiling_state::followers(const std::string& conversation) {
  std::vector<std::shared_ptr<ceiling_session>> out;
  std::lock_guard<std::mutex> guard{mtx_};
  auto it = subscribers_.find(conversation);
  if (it == subscribers_.end())
    return out;
  auto& list = it->second;
  for (auto i = list.begin(); i != list.end();)
    if (auto strong = i->lock()) {
      out.push_back(std::move(strong));
      ++i;
    } else {
      i = list.erase(i);
    }
  return out;
}

std::string ceiling_state::make_uuid() {
  uint64_t hi, lo;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    hi = rng_();
    lo = rng_();
  }
  hi = (hi & ~0xF000ull) | 0x4000ull;           // version 4
  lo = (lo & ~(0xCull << 60)) | (0x8ull << 60); // variant 10
  char buf[37];
  std::snprintf(
    buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx",
    static_cast<unsigned>(hi >> 32), static_cast<unsigned>((hi >> 16) & 0xFFFF),
    static_cast<unsigned>(hi & 0xFFFF), static_cast<unsigned>(lo >> 48),
    static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFull));
  return buf;
}

namespace {

// -- HTTP ---------------------------------------------------------------------

/// Reads requests on one connection: upgrades /ws/chat[/{id}], streams
/// POST /api/agent/run_agent?stream=true, answers GET /health and
/// GET /connections, 404 for the rest.
class http_session : public std::enable_shared_from_this<http_session> {
 public:
  http_session(tcp::socket&& socket, ceiling_state_ptr state)
    : stream_(std::move(socket)), state_(std::move(state)) {}

  void run() {
    net::dispatch(
      stream_.get_executor(),
      beast::bind_front_handler(&http_session::do_read, shared_from_this()));
  }

 private:
  void do_read() {
    req_ = {};
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(
      stream_, buffer_, req_,
      beast::bind_front_handler(&http_session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t) {
    if (ec)
      return;
    std::string_view target{req_.target().data(), req_.target().size()};
    auto query = target.substr(std::min(target.find('?'), target.size()));
    target = target.substr(0, target.find('?'));
    if (websocket::is_upgrade(req_) && target.rfind("/ws/chat", 0) == 0) {
      auto id = target.size() > 9 ? std::string{target.substr(9)}
                                  : state_->make_uuid();
      std::make_shared<ceiling_session>(std::move(stream_), state_,
                                        std::move(id))
        ->run(std::move(req_));
      return;
    }
    if (req_.method() == http::verb::post && target == "/api/agent/run_agent") {
      // Only the streaming form: the ceiling keeps no run to poll.
      if (query.find("stream=true") == std::string_view::npos)
        return reply(http::status::not_found,
                     R"({"error":{"code":"not_found","message":"only )"
                     R"(?stream=true"}})");
      return start_sse_run(std::move(stream_), state_, req_);
    }
    if (target == "/connections")
      return reply(http::status::ok, state_->connections_json());
    if (target == "/health")
      return reply(http::status::ok, R"({"status":"ok"})");
    reply(http::status::not_found,
          R"({"error":{"code":"not_found","message":"no such path"}})");
  }

  void reply(http::status status, std::string body) {
    auto res = std::make_shared<http::response<http::string_body>>(
      status, req_.version());
    res->set(http::field::content_type, "application/json");
    res->keep_alive(req_.keep_alive());
    res->body() = std::move(body);
    res->prepare_payload();
    http::async_write(
      stream_, *res,
      [self = shared_from_this(), res](beast::error_code ec, size_t) {
        if (!ec && res->keep_alive())
          self->do_read();
      });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  ceiling_state_ptr state_;
};

/// Accepts connections, each onto its own strand.
class listener : public std::enable_shared_from_this<listener> {
 public:
  listener(net::io_context& ioc, ceiling_state_ptr state)
    : ioc_(ioc), acceptor_(net::make_strand(ioc)), state_(std::move(state)) {}

  beast::error_code open(const tcp::endpoint& endpoint) {
    beast::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec)
      acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec)
      acceptor_.bind(endpoint, ec);
    if (!ec)
      acceptor_.listen(net::socket_base::max_listen_connections, ec);
    return ec;
  }

  tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

  void do_accept() {
    acceptor_.async_accept(
      net::make_strand(ioc_),
      beast::bind_front_handler(&listener::on_accept, shared_from_this()));
  }

 private:
  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (!ec) {
      // As parleyd: frames are small and written one by one; Nagle would
      // hold each behind the previous one's ACK.
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<http_session>(std::move(socket), state_)->run();
    } else if (ec == net::error::operation_aborted)
      return;
    // Out of descriptors (EMFILE) and the like: keep accepting; the
    // load generator reports what did not connect.
    do_accept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  ceiling_state_ptr state_;
};

struct cli_options {
  std::string listen = "127.0.0.1:8080";
  int threads = 2;
  size_t max_frame_bytes = 1 << 20;
  int64_t heartbeat_s = 30;
  int64_t token_interval_ms = 0;
  // Accepted for parleyd compatibility, ignored.
  std::string log_level = "info";
  std::string store = "memory";
};

} // namespace

} // namespace parley::bench

int main(int argc, char** argv) {
  using namespace parley::bench;
  CLI::App app{"ceiling_server: the smallest Beast server speaking Parley's "
               "WebSocket protocol, for benchmarks"};
  cli_options opts;
  app.add_option("--listen", opts.listen, "HOST:PORT; port 0 picks one");
  app.add_option("--threads", opts.threads, "I/O threads")
    ->check(CLI::Range(1, 64));
  app.add_option("--max-frame-bytes", opts.max_frame_bytes,
                 "Largest WebSocket message accepted");
  app.add_option("--heartbeat-s", opts.heartbeat_s, "WebSocket ping period");
  app.add_option("--token-interval-ms", opts.token_interval_ms,
                 "Pause between two frames of a run");
  app.add_option("--log-level", opts.log_level, "Ignored");
  app.add_option("--store", opts.store, "Ignored");
  CLI11_PARSE(app, argc, argv);

  auto colon = opts.listen.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "--listen: expected HOST:PORT\n";
    return 2;
  }
  auto host = opts.listen.substr(0, colon);
  if (host.size() > 1 && host.front() == '[')
    host = host.substr(1, host.size() - 2);
  beast::error_code ec;
  auto addr = net::ip::make_address(host, ec);
  if (ec) {
    std::cerr << "--listen: '" << host << "' is not an IP address\n";
    return 2;
  }
  tcp::endpoint endpoint{addr, static_cast<unsigned short>(
                                 std::stoi(opts.listen.substr(colon + 1)))};

  ceiling_config cfg;
  cfg.max_frame_bytes = opts.max_frame_bytes;
  cfg.heartbeat = std::chrono::seconds(opts.heartbeat_s);
  cfg.token_interval = std::chrono::milliseconds(opts.token_interval_ms);
  auto state = std::make_shared<ceiling_state>(cfg);
  net::io_context ioc{opts.threads};
  auto lst = std::make_shared<listener>(ioc, state);
  if (auto err = lst->open(endpoint)) {
    std::cerr << "cannot listen on " << opts.listen << ": " << err.message()
              << '\n';
    return 1;
  }
  auto bound = lst->local_endpoint();
  auto shown = bound.address().to_string();
  if (bound.address().is_v6())
    shown = "[" + shown + "]";
  std::cout << "parleyd listening on http://" << shown << ':' << bound.port()
            << std::endl;
  lst->do_accept();

  net::signal_set signals{ioc, SIGINT, SIGTERM};
  signals.async_wait([&ioc](beast::error_code, int) { ioc.stop(); });
  std::vector<std::thread> threads;
  for (int i = 1; i < opts.threads; ++i)
    threads.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : threads)
    t.join();
  return 0;
}
