// The load generator's Server-Sent Events client, for the sse scenarios.
// Each run is one HTTP exchange on a fresh connection, as parleyd answers a
// stream with `Connection: close`:
//
//   connect -> POST /api/agent/run_agent?stream=true -> read the head (200)
//   -> read the text/event-stream body, an event at a time, until the last
//      chunk (after the terminal event) -> close -> the next run, if asked
//
// Like the WebSocket clients, an sse_conn belongs to one io_context and is
// touched only on its thread; what the main thread reads while the load
// runs (streams open now, held) is in sse_shared, as atomics.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http.hpp>

#include "loadgen.hpp"

namespace parley::bench {

/// One Server-Sent Event; the views live until the callback returns.
struct sse_event {
  std::string_view id;
  std::string_view type; ///< `event:`; "message" when absent
  std::string_view data; ///< the `data:` lines joined by '\n'
};

/// Splits a text/event-stream into events, whatever pieces the bytes come
/// in: `field: value` lines, an empty line ends an event, lines starting
/// with ':' are comments (parleyd's keep-alive). O(bytes); one copy only
/// for a line split across two reads.
class sse_parser {
 public:
  template<class OnEvent>
  void feed(std::string_view bytes, OnEvent&& on_event) {
    while (!bytes.empty()) {
      auto nl = bytes.find('\n');
      if (nl == std::string_view::npos) {
        partial_.append(bytes);
        return;
      }
      std::string_view line = bytes.substr(0, nl);
      if (!partial_.empty()) {
        partial_.append(line);
        line = partial_;
      }
      bytes.remove_prefix(nl + 1);
      if (!line.empty() && line.back() == '\r')
        line.remove_suffix(1);
      if (line.empty()) {
        if (has_data_)
          on_event(sse_event{id_, type_.empty() ? "message" : type_, data_});
        id_.clear();
        type_.clear();
        data_.clear();
        has_data_ = false;
      } else {
        field(line);
      }
      partial_.clear();
    }
  }

 private:
  void field(std::string_view line);

  std::string partial_;
  std::string id_, type_, data_;
  bool has_data_ = false;
};

/// What the SSE clients of one scenario share.
struct sse_shared {
  time_point window_start{};
  time_point window_end = time_point::max();
  /// Start the next run after a stream ended (sse); off: one run (sse_held).
  std::atomic<bool> repeat{true};
  std::atomic<int64_t> open{0};     ///< head arrived, stream not ended
  std::atomic<int64_t> open_max{0}; ///< the most `open` ever was
  std::atomic<int64_t> held{0};     ///< open and past the first event
  std::atomic<int64_t> held_max{0};
  std::atomic<int64_t> runs_in_flight{0};
};

/// Runs researcher questions over SSE, one after another (or just one),
/// and measures POST -> first event and the gaps between a run's events.
class sse_conn : public std::enable_shared_from_this<sse_conn> {
 public:
  /// `body` is the run_agent JSON; `settled` is called once, on this
  /// connection's thread, when its first run's first event arrived or the
  /// run failed (the held scenario's connect window).
  sse_conn(boost::asio::io_context& ioc, sse_shared& shared,
           const std::string& host_header, const std::string& body,
           std::function<void()> settled = {});

  void start(const boost::asio::ip::tcp::endpoint& server);
  /// Drops the socket and stops; pending operations end aborted.
  void abort();
  boost::asio::io_context& context() { return ioc_; }
  bool is_held() const { return held_; }

  // Totals within the measuring window; read after the threads stopped
  // (errors and the first error: at any time).
  uint64_t events = 0, chunks = 0, bytes = 0, runs = 0, seq_gaps = 0;
  uint64_t errors = 0, http_errors = 0, connect_errors = 0;
  uint64_t incomplete = 0; ///< streams that ended before a terminal event
  uint64_t error_events = 0;
  std::string first_error;
  samples first_event, inter_arrival, connect_latency, delivery;

 private:
  void next_run();
  void on_connect(boost::beast::error_code ec);
  void on_write(boost::beast::error_code ec, size_t bytes);
  void on_header(boost::beast::error_code ec, size_t bytes);
  void on_error_body(boost::beast::error_code ec, size_t bytes);
  void do_read();
  void on_read(boost::beast::error_code ec, size_t bytes);
  void on_event(const sse_event& ev, time_point at);
  void close_run();
  void end_run();
  void fail(std::string what);
  void settle();
  bool in_window(time_point t) const {
    return t >= shared_.window_start && t < shared_.window_end;
  }

  boost::asio::io_context& ioc_;
  sse_shared& shared_;
  std::shared_ptr<const std::string> request_; ///< serialized once
  std::function<void()> settled_;
  boost::asio::ip::tcp::endpoint server_;
  std::optional<boost::beast::tcp_stream> stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<
    boost::beast::http::response_parser<boost::beast::http::string_body>>
    parser_;
  /// The parser keeps a reference to this: it must outlive the parser.
  std::function<size_t(uint64_t, boost::beast::string_view,
                       boost::beast::error_code&)>
    on_chunk_;
  sse_parser sse_;
  boost::asio::steady_timer backoff_;
  bool aborted_ = false;
  bool open_ = false;     ///< counted in shared_.open
  bool held_ = false;     ///< counted in shared_.held
  bool terminal_ = false; ///< this run's terminal event arrived
  bool settled_once_ = false;
  uint64_t last_seq_ = 0;
  time_point connect_at_{}, sent_at_{}, last_event_at_{};
};

} // namespace parley::bench
