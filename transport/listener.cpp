#include "transport/listener.hpp"

#include <array>

#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include "transport/fail.hpp"
#include "transport/http_responses.hpp"
#include "transport/http_session.hpp"

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

namespace parley {

namespace {

/// How long a refused connection may take to read our answer and hang up.
constexpr auto refusal_linger = std::chrono::seconds(2);

/// Answers a connection over --max-conns-per-ip with 429 and closes it. The
/// request is never read (reading would let the client hold the socket and
/// a parser); the answer goes out at once, then the socket is drained until
/// the client hangs up or refusal_linger passes, so that closing it with
/// unread request bytes does not reset the connection before the client
/// has read the 429.
class refusal : public std::enable_shared_from_this<refusal> {
 public:
  refusal(tcp::socket&& socket, size_t limit)
    : stream_(std::move(socket)),
      res_(error_response(reply_to{11, false},
                          beast::http::status::too_many_requests,
                          error_code::too_many_connections,
                          "this address already holds " + std::to_string(limit)
                            + " open connections (--max-conns-per-ip)")) {}

  void run() {
    stream_.expires_after(refusal_linger);
    beast::http::async_write(
      stream_, res_, [self = shared_from_this()](beast::error_code ec, size_t) {
        if (ec)
          return;
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        self->drain();
      });
  }

 private:
  void drain() {
    // Ends with end-of-file, a reset or the linger deadline; the socket
    // closes with this object.
    stream_.async_read_some(
      net::buffer(scratch_),
      [self = shared_from_this()](beast::error_code ec, size_t) {
        if (!ec)
          self->drain();
      });
  }

  beast::tcp_stream stream_;
  http_response res_;
  std::array<char, 1024> scratch_;
};

/// The peer's address as the per-IP counter keys it; an IPv4 client of a
/// dual-stack socket counts under its IPv4 address.
std::string peer_address(const tcp::socket& socket) {
  beast::error_code ec;
  auto addr = socket.remote_endpoint(ec).address();
  if (ec)
    return {};
  if (addr.is_v6() && addr.to_v6().is_v4_mapped())
    return net::ip::make_address_v4(net::ip::v4_mapped, addr.to_v6())
      .to_string();
  return addr.to_string();
}

} // namespace

listener::listener(net::io_context& ioc, transport_context_ptr ctx)
  : ioc_(ioc), acceptor_(net::make_strand(ioc)),
    backoff_(acceptor_.get_executor()), ctx_(std::move(ctx)) {}

beast::error_code listener::open(const tcp::endpoint& endpoint) {
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

tcp::endpoint listener::local_endpoint() const {
  beast::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void listener::run() {
  net::dispatch(
    acceptor_.get_executor(),
    beast::bind_front_handler(&listener::do_accept, shared_from_this()));
}

void listener::stop() {
  beast::error_code ec;
  acceptor_.close(ec);
  backoff_.cancel();
}

void listener::do_accept() {
  // Each connection gets its own strand: its handlers never run
  // concurrently, whichever I/O thread picks them up.
  acceptor_.async_accept(
    net::make_strand(ioc_),
    beast::bind_front_handler(&listener::on_accept, shared_from_this()));
}

void listener::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open())
    return;
  if (ec) {
    fail(ctx_->deps.log, ec, "accept");
    backoff_.expires_after(std::chrono::milliseconds(100));
    backoff_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec)
        self->do_accept();
    });
    return;
  }
  // Events stream as many small frames; Nagle would hold each one back
  // waiting for the previous ACK.
  socket.set_option(tcp::no_delay(true), ec);
  auto address = peer_address(socket);
  if (auto slot = ctx_->connections_per_ip.try_acquire(address))
    std::make_shared<http_session>(std::move(socket), ctx_, std::move(*slot))
      ->run();
  else
    refuse(std::move(socket), address);
  do_accept();
}

void listener::refuse(tcp::socket socket, const std::string& address) {
  // Debug level: a flood of refusals must not flood the log as well.
  ctx_->deps.log->debug("{} holds {} connections; refusing another (429)",
                        address, ctx_->connections_per_ip.limit());
  std::make_shared<refusal>(std::move(socket), ctx_->connections_per_ip.limit())
    ->run();
}

} // namespace parley
