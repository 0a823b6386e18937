// Accepts TCP connections and gives each its own strand and http_session.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>

#include "transport/transport_context.hpp"

namespace parley {

class listener : public std::enable_shared_from_this<listener> {
 public:
  listener(boost::asio::io_context& ioc, transport_context_ptr ctx);

  /// Opens, binds and listens on `endpoint`.
  boost::beast::error_code open(const boost::asio::ip::tcp::endpoint& endpoint);

  /// The bound endpoint (with the real port after binding port 0).
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  /// The acceptor's strand.
  boost::asio::any_io_executor get_executor() {
    return acceptor_.get_executor();
  }

  /// Starts the accept loop.
  void run();

  /// Closes the acceptor; pending accepts end with operation_aborted. Must
  /// run on the acceptor's strand (post it there).
  void stop();

 private:
  void do_accept();
  void on_accept(boost::beast::error_code ec,
                 boost::asio::ip::tcp::socket socket);
  /// Answers 429 to a connection over --max-conns-per-ip and closes it.
  void refuse(boost::asio::ip::tcp::socket socket, const std::string& address);

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  /// Delays the next accept after an error such as EMFILE, which would
  /// otherwise fail again at once and spin a core.
  boost::asio::steady_timer backoff_;
  transport_context_ptr ctx_;
};

} // namespace parley
