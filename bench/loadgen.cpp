// The load generator's plumbing shared by the scenarios: the WebSocket
// client, the thread pool, latency samples, /proc readers and the JSON
// report (loadgen.hpp). The command line and main are in loadgen_main.cpp.
#include "loadgen.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <future>
#include <iostream>
#include <netinet/in.h>
#include <sstream>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/beast/http.hpp>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace parley::bench {

// -- frames and samples -------------------------------------------------------

namespace {

std::string_view quoted_after(std::string_view text, std::string_view key,
                              size_t from = 0) {
  auto p = text.find(key, from);
  if (p == std::string_view::npos)
    return {};
  p += key.size();
  auto e = text.find('"', p);
  return e == std::string_view::npos ? std::string_view{}
                                     : text.substr(p, e - p);
}

/// The unsigned number right after `key`, 0 if there is none.
uint64_t number_after(std::string_view text, std::string_view key) {
  uint64_t n = 0;
  if (auto p = text.find(key); p != std::string_view::npos)
    for (p += key.size(); p < text.size() && text[p] >= '0' && text[p] <= '9';
         ++p)
      n = n * 10 + static_cast<uint64_t>(text[p] - '0');
  return n;
}

} // namespace

frame_info scan_frame(std::string_view text) {
  frame_info f;
  f.type = quoted_after(text, R"("type":")");
  f.run = quoted_after(text, R"("chat_session_id":")");
  f.seq = number_after(text, R"("seq":)");
  f.time_us = time_us_of(text);
  return f;
}

int64_t time_us_of(std::string_view frame) {
  return static_cast<int64_t>(number_after(frame, R"("time_us":)"));
}

int64_t unix_us_at(time_point at) {
  using namespace std::chrono;
  static const auto offset
    = duration_cast<microseconds>(system_clock::now().time_since_epoch())
      - duration_cast<microseconds>(clock_type::now().time_since_epoch());
  return (duration_cast<microseconds>(at.time_since_epoch()) + offset).count();
}

void add_delivery(samples& into, int64_t made_us, time_point at) {
  if (made_us > 0)
    into.add(std::chrono::microseconds{
      std::max<int64_t>(0, unix_us_at(at) - made_us)});
}

double samples::percentile_us(double p) {
  if (values_.empty())
    return 0;
  if (!sorted_) {
    std::sort(values_.begin(), values_.end());
    sorted_ = true;
  }
  // Nearest rank: the smallest value with at least p% of samples at or below.
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * values_.size()));
  return static_cast<double>(values_[std::max<size_t>(rank, 1) - 1]) / 1000.0;
}

double samples::max_us() {
  return percentile_us(100);
}

double seconds_between(time_point a, time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// -- connection ---------------------------------------------------------------

connection::connection(net::io_context& ioc, std::string path)
  : ioc_(ioc), ws_(ioc), path_(std::move(path)) {}

void connection::start(const tcp::endpoint& server,
                       const net::ip::address& source, int rcvbuf) {
  started_at_ = clock_type::now();
  host_header_
    = server.address().to_string() + ":" + std::to_string(server.port());
  auto& sock = beast::get_lowest_layer(ws_).socket();
  beast::error_code ec;
  sock.open(server.protocol(), ec);
  if (!ec && rcvbuf > 0)
    sock.set_option(net::socket_base::receive_buffer_size(rcvbuf), ec);
  if (!ec && !source.is_unspecified()) {
    // Let connect() pick the port per (source, destination) pair, not bind():
    // otherwise every bound socket takes a port of the source's whole range.
    int one = 1;
    ::setsockopt(sock.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT,
                 &one, sizeof(one));
    sock.bind(tcp::endpoint{source, 0}, ec);
  }
  if (ec)
    return fail(ec, "socket");
  beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(15));
  beast::get_lowest_layer(ws_).async_connect(
    server,
    beast::bind_front_handler(&connection::on_connect, shared_from_this()));
}

void connection::on_connect(beast::error_code ec) {
  if (ec)
    return fail(ec, "connect");
  beast::get_lowest_layer(ws_).expires_never();
  beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ec);
  ws_.set_option(
    websocket::stream_base::timeout::suggested(beast::role_type::client));
  ws_.async_handshake(
    host_header_, path_,
    beast::bind_front_handler(&connection::on_handshake, shared_from_this()));
}

void connection::on_handshake(beast::error_code ec) {
  if (ec)
    return fail(ec, "handshake");
  open_ = true;
  handshaken_ = true;
  on_open();
  do_read();
}

void connection::do_read() {
  if (reading_ || paused_ || !open_)
    return;
  reading_ = true;
  ws_.async_read(buffer_, beast::bind_front_handler(&connection::on_read,
                                                    shared_from_this()));
}

void connection::on_read(beast::error_code ec, size_t) {
  reading_ = false;
  if (ec) {
    if (ec == websocket::error::closed) {
      close_code_ = ws_.reason().code;
      close_reason_ = std::string{ws_.reason().reason.c_str()};
    }
    return fail(ec, "read");
  }
  auto data = buffer_.data();
  on_frame({static_cast<const char*>(data.data()), data.size()},
           clock_type::now());
  buffer_.consume(buffer_.size());
  do_read();
}

void connection::resume_reading() {
  paused_ = false;
  do_read();
}

void connection::send(std::string text) {
  if (!open_)
    return;
  queue_.push_back(std::move(text));
  if (!writing_)
    do_write();
}

void connection::do_write() {
  if (queue_.empty() || !open_)
    return;
  writing_ = true;
  ws_.text(true);
  ws_.async_write(
    net::buffer(queue_.front()),
    beast::bind_front_handler(&connection::on_write, shared_from_this()));
}

void connection::on_write(beast::error_code ec, size_t) {
  writing_ = false;
  if (ec)
    return fail(ec, "write");
  queue_.pop_front();
  do_write();
}

void connection::abort() {
  open_ = false;
  beast::error_code ec;
  beast::get_lowest_layer(ws_).socket().close(ec);
}

void connection::fail(beast::error_code ec, const char* what) {
  if (ended_)
    return;
  ended_ = true;
  ended_at_ = clock_type::now();
  open_ = false;
  failed_ = !handshaken_;
  error_ = std::string{what} + ": " + ec.message();
  beast::get_lowest_layer(ws_).socket().close(ec);
  on_end();
}

// -- client_pool --------------------------------------------------------------

client_pool::client_pool(int threads) {
  for (int i = 0; i < std::max(threads, 1); ++i) {
    contexts_.push_back(std::make_unique<net::io_context>(1));
    guards_.push_back(net::make_work_guard(*contexts_.back()));
  }
  for (auto& ctx : contexts_) {
    ++running_;
    threads_.emplace_back([this, c = ctx.get()] {
      c->run();
      --running_;
    });
  }
}

client_pool::~client_pool() {
  finish(std::chrono::milliseconds(0));
}

void client_pool::run_on(size_t i, std::function<void()> fn) {
  std::promise<void> done;
  net::post(*contexts_[i], [&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

void client_pool::finish(std::chrono::milliseconds grace) {
  if (threads_.empty())
    return;
  guards_.clear();
  auto deadline = clock_type::now() + grace;
  while (running_ > 0 && clock_type::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  for (auto& ctx : contexts_)
    ctx->stop();
  for (auto& t : threads_)
    t.join();
  threads_.clear();
}

// -- the server process
// ---------------------------------------------------------

int64_t read_rss_kib(int pid) {
  if (pid <= 0)
    return -1;
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stoll(line.substr(6));
  return -1;
}

double read_cpu_s(int pid) {
  if (pid <= 0)
    return -1;
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  // Field 2 (comm) may hold spaces; fields 14 and 15 follow its ')'.
  auto p = text.rfind(')');
  if (p == std::string::npos)
    return -1;
  std::istringstream rest{text.substr(p + 2)};
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14)
      utime = std::stod(field);
    if (i == 15)
      stime = std::stod(field);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double self_cpu_s() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6;
  };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

std::string http_get(const options& opts, const std::string& target) {
  try {
    net::io_context ioc;
    beast::tcp_stream stream{ioc};
    stream.expires_after(std::chrono::seconds(5));
    stream.connect(tcp::endpoint{net::ip::make_address(opts.host), opts.port});
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, opts.host);
    http::write(stream, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(stream, buf, res);
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    return res.body();
  } catch (const std::exception&) {
    return {};
  }
}

// -- reporting
// ------------------------------------------------------------------

void write_number(json_writer& w, const char* key, double value) {
  w.Key(key);
  // Three decimals are plenty and keep the files readable.
  w.Double(std::isfinite(value) ? std::round(value * 1000) / 1000 : 0.0);
}

void write_int(json_writer& w, const char* key, int64_t value) {
  w.Key(key);
  w.Int64(value);
}

void write_string(json_writer& w, const char* key, std::string_view value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void write_latency(json_writer& w, const char* key, samples& s) {
  w.Key(key);
  w.StartObject();
  write_int(w, "count", static_cast<int64_t>(s.size()));
  write_number(w, "p50", s.percentile_us(50));
  write_number(w, "p99", s.percentile_us(99));
  write_number(w, "max", s.max_us());
  w.EndObject();
}

void begin_report(json_writer& w, const options& opts) {
  w.StartObject();
  write_string(w, "scenario", opts.scenario);
  write_string(w, "server", opts.label);
  write_int(w, "loadgen_threads", opts.threads);
  char stamp[32];
  std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  write_string(w, "measured_at", stamp);
  // Benchmarks on a shared machine: say how busy it was.
  std::ifstream loadavg{"/proc/loadavg"};
  double one_minute = -1;
  loadavg >> one_minute;
  write_number(w, "loadavg_1m_at_start", one_minute);
}

void append_us_lines(const std::string& path, const samples& s) {
  std::ofstream out{path, std::ios::app};
  char line[32];
  for (auto ns : s.values_ns()) {
    auto n = std::snprintf(line, sizeof(line), "%.1f\n", ns / 1000.0);
    out.write(line, n);
  }
}

void emit(json_writer& w, rapidjson::StringBuffer& buf, const options& opts) {
  w.EndObject();
  std::cout << buf.GetString() << std::endl;
  if (!opts.out.empty()) {
    std::ofstream out{opts.out, std::ios::app};
    out << buf.GetString() << '\n';
  }
}

} // namespace parley::bench
