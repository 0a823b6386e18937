#include "sse_client.hpp"

#include <charconv>
#include <sstream>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "clients.hpp"

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

namespace parley::bench {

namespace {

/// Raises `max` to `value` if it is larger (another thread may race).
void raise_max(std::atomic<int64_t>& max, int64_t value) {
  auto seen = max.load();
  while (value > seen && !max.compare_exchange_weak(seen, value)) {
  }
}

uint64_t seq_of(std::string_view id) {
  uint64_t seq = 0;
  std::from_chars(id.data(), id.data() + id.size(), seq);
  return seq;
}

} // namespace

// -- sse_parser ---------------------------------------------------------------

void sse_parser::field(std::string_view line) {
  if (line.front() == ':')
    return; // a comment: parleyd's keep-alive
  auto colon = line.find(':');
  auto name = line.substr(0, colon);
  auto value = colon == std::string_view::npos ? std::string_view{}
                                               : line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ')
    value.remove_prefix(1);
  if (name == "id") {
    id_.assign(value);
  } else if (name == "event") {
    type_.assign(value);
  } else if (name == "data") {
    if (has_data_)
      data_ += '\n';
    data_.append(value);
    has_data_ = true;
  }
}

// -- sse_conn -----------------------------------------------------------------

sse_conn::sse_conn(net::io_context& ioc, sse_shared& shared,
                   const std::string& host_header, const std::string& body,
                   std::function<void()> settled)
  : ioc_(ioc), shared_(shared), settled_(std::move(settled)), backoff_(ioc) {
  http::request<http::string_body> req{http::verb::post,
                                       "/api/agent/run_agent?stream=true", 11};
  req.set(http::field::host, host_header);
  req.set(http::field::content_type, "application/json");
  req.set(http::field::accept, "text/event-stream");
  req.body() = body;
  req.prepare_payload();
  // Serialized once: every run sends the same bytes.
  std::ostringstream text;
  text << req;
  request_ = std::make_shared<const std::string>(text.str());
  // Called by the parser as chunk bytes are parsed, i.e. as they arrive.
  on_chunk_ = [this](uint64_t, beast::string_view bytes, beast::error_code&) {
    sse_.feed({bytes.data(), bytes.size()},
              [this](const sse_event& ev) { on_event(ev, clock_type::now()); });
    return bytes.size();
  };
}

void sse_conn::start(const tcp::endpoint& server) {
  server_ = server;
  next_run();
}

void sse_conn::next_run() {
  if (aborted_)
    return;
  stream_.emplace(ioc_);
  buffer_.clear();
  parser_.emplace();
  parser_->body_limit(boost::none); // a stream lasts as long as its run
  parser_->on_chunk_body(on_chunk_);
  sse_ = {};
  terminal_ = false;
  last_seq_ = 0;
  ++shared_.runs_in_flight;
  connect_at_ = clock_type::now();
  stream_->expires_after(15s);
  stream_->async_connect(server_, beast::bind_front_handler(
                                    &sse_conn::on_connect, shared_from_this()));
}

void sse_conn::on_connect(beast::error_code ec) {
  if (aborted_)
    return;
  if (ec) {
    ++connect_errors;
    return fail("connect: " + ec.message());
  }
  if (in_window(connect_at_))
    connect_latency.add(clock_type::now() - connect_at_);
  stream_->socket().set_option(tcp::no_delay(true), ec);
  sent_at_ = clock_type::now();
  net::async_write(
    *stream_, net::buffer(*request_),
    beast::bind_front_handler(&sse_conn::on_write, shared_from_this()));
}

void sse_conn::on_write(beast::error_code ec, size_t) {
  if (aborted_)
    return;
  if (ec)
    return fail("write: " + ec.message());
  // The head comes once the run exists; a busy server may take a while.
  stream_->expires_after(30s);
  http::async_read_header(
    *stream_, buffer_, *parser_,
    beast::bind_front_handler(&sse_conn::on_header, shared_from_this()));
}

void sse_conn::on_header(beast::error_code ec, size_t) {
  if (aborted_)
    return;
  if (ec)
    return fail("read header: " + ec.message());
  if (parser_->get().result() != http::status::ok) {
    // Refused (409, 429, …): read the error body to say why.
    ++http_errors;
    return http::async_read(
      *stream_, buffer_, *parser_,
      beast::bind_front_handler(&sse_conn::on_error_body, shared_from_this()));
  }
  open_ = true;
  raise_max(shared_.open_max, ++shared_.open);
  // Paced runs pause between events: no deadline while the stream lasts.
  stream_->expires_never();
  do_read();
}

void sse_conn::on_error_body(beast::error_code, size_t) {
  if (aborted_)
    return;
  auto& res = parser_->get();
  fail("HTTP " + std::to_string(res.result_int()) + ": " + res.body());
}

void sse_conn::do_read() {
  http::async_read_some(
    *stream_, buffer_, *parser_,
    beast::bind_front_handler(&sse_conn::on_read, shared_from_this()));
}

void sse_conn::on_read(beast::error_code ec, size_t) {
  if (aborted_)
    return;
  if (ec)
    return terminal_ ? end_run() : fail("read: " + ec.message());
  if (parser_->is_done())
    return terminal_ ? end_run()
                     : fail("stream ended before its terminal event");
  do_read();
}

void sse_conn::on_event(const sse_event& ev, time_point at) {
  auto seq = seq_of(ev.id);
  if (seq != last_seq_ + 1)
    ++seq_gaps;
  if (in_window(at)) {
    ++events;
    bytes += ev.data.size();
    chunks += ev.type == "chunk" ? 1 : 0;
    if (last_seq_ > 0)
      inter_arrival.add(at - last_event_at_);
    add_delivery(delivery, time_us_of(ev.data), at);
  }
  if (!held_) {
    if (in_window(sent_at_))
      first_event.add(at - sent_at_);
    held_ = true;
    raise_max(shared_.held_max, ++shared_.held);
    settle();
  }
  last_seq_ = seq;
  last_event_at_ = at;
  if (is_terminal(ev.type)) {
    terminal_ = true;
    if (ev.type == "error") {
      ++error_events;
      ++errors;
      if (first_error.empty())
        first_error = "error event: " + std::string{ev.data};
    }
    if (in_window(at))
      ++runs;
  }
}

void sse_conn::close_run() {
  beast::error_code ec;
  stream_->socket().close(ec);
  if (open_)
    --shared_.open;
  if (held_)
    --shared_.held;
  open_ = held_ = false;
  --shared_.runs_in_flight;
  settle();
}

void sse_conn::end_run() {
  close_run();
  if (shared_.repeat && !aborted_)
    net::post(ioc_, [self = shared_from_this()] { self->next_run(); });
}

void sse_conn::fail(std::string what) {
  ++errors;
  if (open_)
    ++incomplete; // the head came, the terminal event did not
  if (first_error.empty())
    first_error = std::move(what);
  close_run();
  if (!shared_.repeat || aborted_)
    return;
  // Do not spin against a server that refuses: try again shortly.
  backoff_.expires_after(20ms);
  backoff_.async_wait([self = shared_from_this()](beast::error_code e) {
    if (!e)
      self->next_run();
  });
}

void sse_conn::settle() {
  if (settled_once_)
    return;
  settled_once_ = true;
  if (settled_)
    settled_();
}

void sse_conn::abort() {
  aborted_ = true;
  backoff_.cancel();
  if (stream_) {
    beast::error_code ec;
    stream_->socket().close(ec);
  }
}

} // namespace parley::bench
