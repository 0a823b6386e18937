// The load generator's parts: options, a Beast WebSocket client, a pool of
// threads each running its own io_context, latency samples, /proc readers
// and the JSON report. The scenarios (scenarios.cpp, slow_scenario.cpp,
// sse_scenarios.cpp) put them together; the SSE client is sse_client.hpp.
//
// Threading: a connection belongs to one io_context and is only touched on
// that context's thread, so connections need no strand and no lock; the
// scenario's main thread talks to them by posting. Counters read while the
// load runs (the slow scenario's timeline) are atomics.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace parley::bench {

using clock_type = std::chrono::steady_clock;
using time_point = clock_type::time_point;

/// Everything the command line sets; each scenario reads the fields it uses.
struct options {
  std::string scenario;
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  std::string label;  ///< names the server in the report
  int threads = 2;    ///< load generator threads, one io_context each
  int server_pid = 0; ///< for VmRSS and CPU readings; 0: none
  std::string out;    ///< JSON lines are appended here (and stdout)
  uint64_t seed = 1;
  // idle
  size_t connections = 100;    ///< idle: N; stream, cancel, slow: C
  int sources = 1;             ///< bind to 127.0.0.1 .. 127.0.0.N
  size_t connect_window = 256; ///< connects in flight at once
  double hold_s = 2;
  // stream, cancel, fanout, slow, sse
  double duration_s = 10;
  double warmup_s = 1;
  std::string message = "What is (17+4)*3?"; ///< also the SSE run's query
  // stream (persist): INFO of this Redis at the window's start and end
  std::string redis_host = "127.0.0.1";
  uint16_t redis_port = 0; ///< 0: no Redis readings
  // cancel
  double cancel_probability = 0.5;
  int cancel_after_max = 3; ///< cancel after k chunks, k in 1..this
  std::string samples_out;  ///< cancel: raw latencies appended here, in µs
  // sse_held (N, the connect window and the hold are the idle options)
  double open_timeout_s = 6; ///< how long all N streams may take to open
  // fanout
  size_t subscribers = 100;
  // slow
  double stall_at_s = 2;
  int slow_rcvbuf = 4096;  ///< small: less kernel buffering; 0: default
  size_t slow_follows = 1; ///< conversations the slow client follows
  double sample_s = 0.25;
  double drain_s = 8;
};

/// The few fields of a server frame the scenarios look at, found by scanning
/// rather than parsing. Sound for parleyd's encoder: keys are unique within
/// an object, and a `"` inside a string value is escaped, so `"seq":` can
/// only be the key. The first `"type":"` is the frame's own type.
struct frame_info {
  std::string_view type;
  std::string_view run; ///< chat_session_id, empty for connection frames
  uint64_t seq = 0;
  int64_t time_us = 0; ///< when the server made the event; 0 if not a run's
};

frame_info scan_frame(std::string_view text);

/// A run frame's `time_us` (0 if it has none), without scanning the rest.
int64_t time_us_of(std::string_view frame);

/// `at` as microseconds since the Unix epoch (the clock the server stamps
/// `time_us` with), from one reading of both clocks: no system call per
/// frame.
int64_t unix_us_at(time_point at);

/// Latency samples in nanoseconds.
class samples {
 public:
  void add(clock_type::duration d) {
    values_.push_back(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()));
  }
  void merge(const samples& other) {
    values_.insert(values_.end(), other.values_.begin(), other.values_.end());
  }
  size_t size() const { return values_.size(); }
  const std::vector<uint64_t>& values_ns() const { return values_; }
  /// The p-th percentile (0..100) in microseconds; sorts once, O(n log n).
  double percentile_us(double p);
  double max_us();

 private:
  std::vector<uint64_t> values_;
  bool sorted_ = false;
};

/// Adds how long a run frame made on the server at `made_us` (its
/// `time_us`) took to its receipt at `at`; nothing if `made_us` is 0.
void add_delivery(samples& into, int64_t made_us, time_point at);

/// One WebSocket client. Subclasses say what to do with frames; the base
/// connects (optionally from a chosen source address), handshakes, reads
/// until told to pause, and writes one frame at a time from a queue.
class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(boost::asio::io_context& ioc, std::string path);
  virtual ~connection() = default;

  /// Connects to `server`. `source` unspecified: the kernel picks.
  void start(const boost::asio::ip::tcp::endpoint& server,
             const boost::asio::ip::address& source, int rcvbuf = 0);
  void send(std::string text);
  void pause_reading() { paused_ = true; }
  void resume_reading();
  /// Drops the socket; pending operations end with operation_aborted.
  void abort();

  /// The io_context this connection runs on.
  boost::asio::io_context& context() { return ioc_; }
  bool is_open() const { return open_; }
  bool has_failed() const { return failed_; }
  const std::string& error() const { return error_; }
  /// The close frame's code and reason, if the server sent one.
  int close_code() const { return close_code_; }
  const std::string& close_reason() const { return close_reason_; }
  time_point started_at() const { return started_at_; }
  time_point ended_at() const { return ended_at_; }

 protected:
  virtual void on_open() {}
  virtual void on_frame(std::string_view text, time_point at) = 0;
  virtual void on_end() {}

 private:
  void on_connect(boost::beast::error_code ec);
  void on_handshake(boost::beast::error_code ec);
  void do_read();
  void on_read(boost::beast::error_code ec, size_t bytes);
  void do_write();
  void on_write(boost::beast::error_code ec, size_t bytes);
  void fail(boost::beast::error_code ec, const char* what);

  boost::asio::io_context& ioc_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer buffer_;
  std::string path_;
  std::string host_header_;
  std::deque<std::string> queue_;
  bool writing_ = false;
  bool reading_ = false;
  bool paused_ = false;
  bool open_ = false;
  bool handshaken_ = false; ///< ever open: ending later is not a failure
  bool failed_ = false;
  bool ended_ = false;
  std::string error_;
  int close_code_ = 0;
  std::string close_reason_;
  time_point started_at_{};
  time_point ended_at_{};
};

/// `threads` threads, each running its own io_context until finish().
class client_pool {
 public:
  explicit client_pool(int threads);
  ~client_pool();

  size_t size() const { return contexts_.size(); }
  boost::asio::io_context& context(size_t i) { return *contexts_[i]; }
  /// Runs `fn` on thread `i` and waits for it.
  void run_on(size_t i, std::function<void()> fn);
  /// Lets the contexts run out of work (give connections a chance to close
  /// first), then stops them after `grace` and joins the threads.
  void finish(std::chrono::milliseconds grace);

 private:
  using guard
    = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<guard> guards_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> running_{0};
};

// -- the server process
// ---------------------------------------------------------

/// VmRSS of `pid` in KiB, or -1.
int64_t read_rss_kib(int pid);
/// User + system CPU seconds `pid` has used, or -1.
double read_cpu_s(int pid);
/// CPU seconds this process has used.
double self_cpu_s();
/// A blocking HTTP GET; returns the body, or "" on any error.
std::string http_get(const options& opts, const std::string& target);

// -- reporting
// ------------------------------------------------------------------

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

/// Starts a report object with what every scenario states (scenario, server
/// label, threads, timestamp); the scenario adds its fields, then emit().
void begin_report(json_writer& w, const options& opts);
void write_latency(json_writer& w, const char* key, samples& s);
void write_number(json_writer& w, const char* key, double value);
void write_int(json_writer& w, const char* key, int64_t value);
void write_string(json_writer& w, const char* key, std::string_view value);
/// Closes the object, prints it and appends it as one line to opts.out.
void emit(json_writer& w, rapidjson::StringBuffer& buf, const options& opts);
/// Appends every sample to `path`, one value in microseconds per line.
void append_us_lines(const std::string& path, const samples& s);

double seconds_between(time_point a, time_point b);

// -- scenarios (scenarios.cpp, slow_scenario.cpp, sse_scenarios.cpp) ---------

int run_idle(const options& opts);
int run_stream(const options& opts, bool with_cancel);
int run_fanout(const options& opts);
int run_slow(const options& opts);
int run_sse(const options& opts);
int run_sse_held(const options& opts);

} // namespace parley::bench
