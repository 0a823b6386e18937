// Represents an active WebSocket connection. It owns the socket and nothing
// else: decoded frames go to its ws_session actor, and what the actor says
// comes back through a frame_sink that posts onto this session's strand.
//
//   socket --read--> decode_client_frame --anon_send--> ws_session actor
//   ws_session actor --frame_sink--> post(strand) --> queue --> one write
//
// The actor may outlive the socket: the sink holds a weak_ptr, so frames for
// a closed connection are dropped and the session is freed when its last
// operation ends.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "actors/interfaces.hpp"
#include "transport/http_responses.hpp"
#include "transport/transport_context.hpp"

namespace parley {

class websocket_session
  : public std::enable_shared_from_this<websocket_session> {
 public:
  /// `slot` counts the connection against --max-conns-per-ip until this
  /// session is destroyed.
  websocket_session(boost::beast::tcp_stream&& stream,
                    transport_context_ptr ctx, std::string session_id,
                    std::string agent_name, std::string owner,
                    connection_slot slot);

  ~websocket_session();

  /// Completes the upgrade `req` asked for, then spawns the actor and reads.
  void run(http_request req);

  // -- called by the frame sink, from any thread ------------------------------

  void post_text(std::shared_ptr<const std::string> text);
  void post_texts(std::vector<std::shared_ptr<const std::string>> texts);
  void post_ping();
  void post_close(uint16_t code, std::string reason);

  /// Tells the actor (once) that the connection is gone. The read loop does
  /// this itself; the server calls it for sessions still open when its I/O
  /// threads have stopped and nothing else can touch this object.
  void notify_closed();

 private:
  /// A queued outbound operation: a text frame, or a ping when `text` is
  /// null. Pings queue behind text so only one write is ever in flight.
  struct outbound {
    std::shared_ptr<const std::string> text;
  };

  void on_accept(boost::beast::error_code ec);
  /// Closes the connection (1001) once nothing was received for
  /// ws_idle_timeout; re-arms itself while frames keep arriving.
  void watch_idle();
  void spawn_actor();
  void do_read();
  void on_read(boost::beast::error_code ec, size_t bytes);
  void forward_text();
  void forward_binary();

  void enqueue(outbound item);
  void do_write();
  void on_write(boost::beast::error_code ec, size_t bytes);
  void begin_close(uint16_t code, std::string reason);
  void send_close();
  void on_close(boost::beast::error_code ec);
  void drop_socket();

  /// First member, so released last: after the socket is closed.
  connection_slot slot_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  /// A copy of the stream's strand, read by other threads: never reassigned.
  const boost::asio::any_io_executor strand_;
  boost::beast::flat_buffer buffer_;
  transport_context_ptr ctx_;
  std::string session_id_;
  std::string agent_name_;
  std::string owner_;
  ws_session_actor actor_;

  std::deque<outbound> queue_;
  /// Text bytes in queue_ (not counting in_flight_).
  size_t queued_bytes_ = 0;
  outbound in_flight_;
  bool writing_ = false;
  /// Set once a close was asked for; nothing more is queued after it.
  std::optional<boost::beast::websocket::close_reason> closing_;
  bool close_sent_ = false;
  /// The read loop ended: the peer is gone and writes are pointless.
  bool done_ = false;
  bool closed_notified_ = false;
  /// Bounds a close handshake stuck behind a write the peer never reads.
  boost::asio::steady_timer close_deadline_;
  /// When the peer last sent a frame (data or control); read on the strand.
  std::chrono::steady_clock::time_point last_heard_;
  boost::asio::steady_timer idle_deadline_;
};

} // namespace parley
