// Represents one Server-Sent Events response. It owns the socket after the
// request was read: an sse_stream actor decides what to write, and this
// object writes it (the HTTP head, then one chunk per event) and notices
// when the client goes away, which it tells the actor.
//
//   sse_stream actor --stream_sink--> post(strand) --> queue --> one write
//   socket --read (EOF)--> closed_atom --> sse_stream actor
//
// As with WebSockets, the actor may outlive the socket: the sink holds a
// weak_ptr, so text for a closed connection is dropped.
#pragma once

#include <deque>
#include <memory>
#include <string>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "actors/sse_stream.hpp"
#include "transport/http_responses.hpp"
#include "transport/transport_context.hpp"

namespace parley {

class sse_session : public std::enable_shared_from_this<sse_session> {
 public:
  /// `slot` counts the connection against --max-conns-per-ip until this
  /// session is destroyed.
  sse_session(boost::beast::tcp_stream&& stream, transport_context_ptr ctx,
              reply_to to, std::string origin, connection_slot slot);

  ~sse_session();

  /// Spawns the actor that follows (or starts) the run of `plan`.
  void run(sse_plan plan);

  // -- called by the stream sink, from any thread -----------------------------

  void post_open(std::string run_id);
  void post_refuse(error_code code, std::string message, std::string field);
  void post_text(std::shared_ptr<const std::string> text);
  void post_end();

 private:
  void watch_peer();
  void enqueue(std::shared_ptr<const std::string> chunk);
  void do_write();
  void on_write(boost::beast::error_code ec, size_t bytes);
  void finish();

  /// First member, so released last: after the socket is closed.
  connection_slot slot_;
  boost::beast::tcp_stream stream_;
  const boost::asio::any_io_executor strand_;
  transport_context_ptr ctx_;
  reply_to to_;
  std::string origin_;
  sse_stream_actor actor_;
  boost::beast::flat_buffer peer_bytes_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  size_t queued_bytes_ = 0;
  std::shared_ptr<const std::string> in_flight_;
  bool writing_ = false;
  /// No more writes are queued after the last chunk or an error response.
  bool ending_ = false;
  bool done_ = false;
};

} // namespace parley
