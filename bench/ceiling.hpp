// The ceiling server: what a chat server costs with nothing but Beast. It
// answers parleyd's WebSocket protocol well enough for the load generator
// (chat, cancel, subscribe to a conversation, ping; GET /connections and
// /health) and replays a captured researcher run for each chat, with no
// actors, no storage and no replay of past frames. The same run is also
// served as Server-Sent Events, for POST /api/agent/run_agent?stream=true.
//
//   listener --accept--> http_session --upgrade--> ceiling_session
//   ceiling_session --post(strand)--> followers' ceiling_sessions
//   http_session --POST run_agent?stream=true--> SSE stream (ceiling_sse.cpp)
//
// Threads as in parleyd: one io_context run by --threads threads, one strand
// per connection; a frame for another connection is posted onto its strand
// (Beast's chat-multi shape), serialized once and shared.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace parley::bench {

class ceiling_session;
class frame_template;

/// The captured researcher run (researcher_frames.hpp), split once.
const std::vector<frame_template>& run_frames();

/// ISO 8601 UTC with milliseconds, as parleyd's reasoning steps carry.
std::string iso8601_now();

/// Microseconds since the Unix epoch as decimal text: a frame's `time_us`.
std::string unix_us_now();

/// Limits, mirroring parleyd's defaults so a slow reader is treated alike.
struct ceiling_config {
  size_t max_frame_bytes = 1 << 20;
  std::chrono::seconds heartbeat{30};
  /// Pause between two frames of a run, as parleyd's --token-interval-ms.
  std::chrono::milliseconds token_interval{0};
  size_t max_queued_frames = 1024;
  size_t max_queued_bytes = 16u << 20;
  std::chrono::seconds close_timeout{5};
};

/// What all connections share: who is open and who follows which
/// conversation. One mutex; every operation is O(1) or O(subscribers).
class ceiling_state {
 public:
  explicit ceiling_state(ceiling_config cfg);

  const ceiling_config& cfg() const { return cfg_; }

  void add(ceiling_session* s, const std::string& session_id);
  void remove(ceiling_session* s);
  /// The body of GET /connections.
  std::string connections_json();

  void subscribe(const std::string& conversation,
                 std::weak_ptr<ceiling_session> s);
  /// The live followers of `conversation`; drops the expired ones.
  std::vector<std::shared_ptr<ceiling_session>>
  followers(const std::string& conversation);

  /// A random version-4 UUID in canonical text form.
  std::string make_uuid();

 private:
  const ceiling_config cfg_;
  std::mutex mtx_;
  std::unordered_map<ceiling_session*, std::string> open_;
  std::unordered_map<std::string, std::vector<std::weak_ptr<ceiling_session>>>
    subscribers_;
  std::mt19937_64 rng_;
};

using ceiling_state_ptr = std::shared_ptr<ceiling_state>;

/// `text` as the inside of a JSON string (quotes not included).
std::string json_escape(std::string_view text);

/// Answers `req` (a POST of run_agent with ?stream=true) on `stream` with
/// the replayed run as Server-Sent Events, then closes the connection.
void start_sse_run(
  boost::beast::tcp_stream&& stream, ceiling_state_ptr state,
  const boost::beast::http::request<boost::beast::http::string_body>& req);

/// Represents an active WebSocket connection and the one run it may have in
/// flight. Every member is touched only on this connection's strand.
class ceiling_session : public std::enable_shared_from_this<ceiling_session> {
 public:
  ceiling_session(boost::beast::tcp_stream&& stream, ceiling_state_ptr state,
                  std::string session_id);
  ~ceiling_session();

  void run(boost::beast::http::request<boost::beast::http::string_body> req);

  /// Queues a frame from any thread (a run of a followed conversation).
  void post_text(std::shared_ptr<const std::string> text);

 private:
  struct active_run {
    std::string id;
    std::string conversation;
    std::string client_msg_id;
    std::string timestamp;
    std::string message_id;
    uint64_t seq = 0;
    std::vector<std::shared_ptr<ceiling_session>> followers;
  };

  void on_accept(boost::beast::error_code ec);
  void do_read();
  void on_read(boost::beast::error_code ec, size_t bytes);
  void handle_text(std::string_view text);

  void start_run(std::string conversation, std::string client_msg_id);
  void step(uint64_t generation);
  void cancel_run(const std::string& id);
  void publish(std::shared_ptr<const std::string> text);
  std::string render(size_t index);

  void enqueue(std::shared_ptr<const std::string> text);
  void do_write();
  void on_write(boost::beast::error_code ec, size_t bytes);
  void begin_close(boost::beast::websocket::close_code code,
                   std::string reason);

  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer buffer_;
  ceiling_state_ptr state_;
  std::string session_id_;
  std::optional<active_run> run_;
  /// Bumped when a run ends or is replaced, so its pending steps stop.
  uint64_t generation_ = 0;

  std::deque<std::shared_ptr<const std::string>> queue_;
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  /// Set once a close was asked for; it goes out after the write in flight.
  std::optional<boost::beast::websocket::close_reason> closing_;
  bool done_ = false;
  boost::asio::steady_timer close_deadline_;
  /// Paces a run's frames when token_interval > 0.
  boost::asio::steady_timer step_timer_;
};

} // namespace parley::bench
