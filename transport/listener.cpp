#include "transport/listener.hpp"

#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <spdlog/spdlog.h>

#include "transport/fail.hpp"
#include "transport/http_session.hpp"

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

namespace parley {

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
  std::make_shared<http_session>(std::move(socket), ctx_)->run();
  do_accept();
}

} // namespace parley
