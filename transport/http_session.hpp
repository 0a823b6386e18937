// Represents one HTTP connection: reads a request (with a deadline and size
// limits), routes it, writes the answer, and reads the next while the client
// keeps the connection alive. An upgrade request hands the socket over to a
// websocket_session and ends this object.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "transport/http_responses.hpp"
#include "transport/transport_context.hpp"

namespace parley {

class http_session : public std::enable_shared_from_this<http_session> {
 public:
  /// `slot` counts the connection against --max-conns-per-ip; it moves on
  /// to the WebSocket or SSE session that takes over the socket.
  http_session(boost::asio::ip::tcp::socket&& socket, transport_context_ptr ctx,
               connection_slot slot);

  /// Starts reading on the session's strand.
  void run();

 private:
  void do_read();
  void on_read_header(boost::beast::error_code ec, size_t bytes);
  void on_read(boost::beast::error_code ec, size_t bytes);
  /// Answers 408 (or, idle between requests, just closes) when the head
  /// of a request is not complete within header_timeout.
  void on_header_timeout(boost::beast::error_code ec);
  /// 403 when the upgrade comes from an origin --allowed-origin does not
  /// name; see origin_check.hpp.
  std::optional<http_response> refuse_origin(const http_request& req) const;
  void on_bad_request(boost::beast::error_code ec);
  void dispatch(http_request req);
  void send(http_response res);
  void on_write(bool close, boost::beast::error_code ec, size_t bytes);
  void do_close();
  /// While an answer is pending: notices a client that hangs up.
  void watch_for_hangup(std::function<void()> on_abandon);

  /// First member, so released last: after the socket is closed.
  connection_slot slot_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  transport_context_ptr ctx_;
  std::optional<
    boost::beast::http::request_parser<boost::beast::http::string_body>>
    parser_;
  /// The response being written; async_write needs it to stay put.
  std::shared_ptr<http_response> res_;
  /// The Origin of the request being answered, for CORS.
  std::string origin_;
  /// True while watch_for_hangup waits on the socket.
  bool watching_ = false;
  /// Bounds the wait for a request's line and headers (slowloris).
  boost::asio::steady_timer header_deadline_;
  /// True from do_read until the head of the request has been read.
  bool reading_header_ = false;
  /// The head was not read in time: the read was cancelled for that.
  bool header_timed_out_ = false;
  /// Requests answered on this connection so far.
  size_t requests_ = 0;
};

} // namespace parley
