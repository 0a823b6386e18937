// Small synchronous WebSocket and HTTP clients for the integration tests.
// Every call takes a deadline: the blocking call starts the Beast async
// operation and runs a private io_context until it completes, and
// `beast::tcp_stream::expires_after` ends it with `timeout` if the server
// stays silent. A timed-out WebSocket is closed (Beast gives no way to
// resume a read it aborted), so a timeout is always the end of a test's
// conversation with that connection.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <rapidjson/document.h>

namespace parley::test {

using namespace std::chrono_literals;
using millis = std::chrono::milliseconds;

/// The deadline of one read when a test does not say otherwise.
constexpr millis default_timeout = 10s;

/// One WebSocket message as received, or why none came.
struct ws_frame {
  enum class kind { text, binary, closed, timeout, error };

  kind what = kind::error;
  std::string payload;                         ///< text or binary bytes
  rapidjson::Document json;                    ///< parsed payload (text)
  boost::beast::websocket::close_reason close; ///< when `closed`
  boost::beast::error_code ec;                 ///< when `timeout` / `error`

  /// True for a text frame holding a JSON object.
  bool is_json() const;

  /// The frame's `type`, or "" when it has none.
  std::string type() const;

  /// The frame's `data` object; throws when it has none.
  const rapidjson::Value& data() const;

  /// True when `data` has the member `name`.
  bool has(const char* name) const;

  /// `data[name]`; throws when it is missing.
  const rapidjson::Value& at(const char* name) const;

  /// `data[name]` as a string; throws when it is missing or not a string.
  std::string str(const char* name) const;

  /// `data[name]` as an unsigned integer; throws likewise.
  uint64_t uint(const char* name) const;

  /// `data[name]` as a bool; throws likewise.
  bool boolean(const char* name) const;

  /// The run this frame belongs to (`data.chat_session_id`), or "".
  std::string run_id() const;

  /// `data.seq`, or 0 when it has none.
  uint64_t seq() const;

  /// A one-line description for failure messages.
  std::string describe() const;
};

/// A WebSocket client connection to parleyd on 127.0.0.1.
class ws_client {
 public:
  /// Connects and upgrades; throws std::runtime_error on failure.
  explicit ws_client(uint16_t port, std::string target = "/ws/chat",
                     millis timeout = default_timeout);

  ~ws_client();

  ws_client(const ws_client&) = delete;
  ws_client& operator=(const ws_client&) = delete;

  /// Reads the `connected` and `session_start` greeting, checks that both
  /// carry the same session id and returns it; throws otherwise.
  std::string read_greeting(millis timeout = default_timeout);

  void send_text(std::string_view text, millis timeout = default_timeout);
  void send_binary(std::string_view bytes, millis timeout = default_timeout);

  /// The next message, a close (with the peer's reason), a timeout or an
  /// error. Control frames are answered by Beast while this reads.
  ws_frame read_frame(millis timeout = default_timeout);

  /// Reads until a frame satisfies `stop` and returns every frame read,
  /// that one last. Throws, listing what came, on close or timeout.
  std::vector<ws_frame>
  read_until(const std::function<bool(const ws_frame&)>& stop,
             millis timeout = default_timeout, std::string what = "a frame");

  /// Reads until a frame of type `type`.
  std::vector<ws_frame> read_until(std::string_view type,
                                   millis timeout = default_timeout);

  /// Sends a JSON ping with a unique timestamp and reads until its pong.
  /// Returns the frames before the pong: a fence that proves the server
  /// sent nothing else before it answered the ping.
  std::vector<ws_frame> read_until_fence(millis timeout = default_timeout);

  /// The close handshake (code 1000); waits for the server's close frame.
  void close(millis timeout = default_timeout);

  /// Drops the TCP connection without a close handshake.
  void drop();

  /// True while neither side closed the connection.
  bool is_open() const;

  /// The close reason the server sent, after a read returned `closed`.
  boost::beast::websocket::close_reason reason() const;

  /// Pings (WebSocket control frames) the server sent that a read saw.
  size_t pings_seen() const { return pings_seen_; }

 private:
  template<class Start>
  boost::beast::error_code run(millis timeout, Start&& start);

  boost::asio::io_context ioc_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer buffer_;
  size_t pings_seen_ = 0;
  uint64_t fence_counter_ = 0;
};

/// An HTTP response from parleyd.
struct http_reply {
  unsigned status = 0;
  std::string body;
  boost::beast::http::fields headers;
  rapidjson::Document json; ///< parsed body; IsObject() when it is JSON

  /// The header `name`, or "".
  std::string header(std::string_view name) const;
};

/// One request on a fresh connection (`Connection: close`); throws on
/// connection errors and timeouts, not on error statuses.
http_reply http_request(uint16_t port, boost::beast::http::verb method,
                        std::string target, std::string body = {},
                        millis timeout = default_timeout);

/// Attempts a WebSocket upgrade to `target` and returns the HTTP status of
/// the answer (101 when accepted), closing the connection either way.
unsigned websocket_upgrade_status(uint16_t port, const std::string& target,
                                  millis timeout = default_timeout);

/// Compact JSON text of a value, e.g. for failure messages.
std::string to_json(const rapidjson::Value& value);

/// Milliseconds since the Unix epoch, as the server's clocks report them.
int64_t unix_now_ms();

} // namespace parley::test
