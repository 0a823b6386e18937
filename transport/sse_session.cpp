#include "transport/sse_session.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "transport/cors.hpp"
#include "transport/fail.hpp"

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace parley {

namespace {

class socket_stream_sink final : public stream_sink {
 public:
  socket_stream_sink(std::weak_ptr<sse_session> session,
                     std::shared_ptr<const void> lease)
    : session_(std::move(session)), lease_(std::move(lease)) {}

  void open(std::string run_id) override {
    if (auto session = session_.lock())
      session->post_open(std::move(run_id));
  }

  void refuse(error_code code, std::string message,
              std::string field) override {
    if (auto session = session_.lock())
      session->post_refuse(code, std::move(message), std::move(field));
  }

  void send_text(std::shared_ptr<const std::string> text) override {
    if (auto session = session_.lock())
      session->post_text(std::move(text));
  }

  void end() override {
    if (auto session = session_.lock())
      session->post_end();
  }

 private:
  std::weak_ptr<sse_session> session_;
  std::shared_ptr<const void> lease_;
};

/// `text` framed as one HTTP/1.1 chunk.
std::shared_ptr<const std::string> as_chunk(const std::string& text) {
  char size[20];
  auto n = std::snprintf(size, sizeof size, "%zx\r\n", text.size());
  auto out = std::make_shared<std::string>();
  out->reserve(text.size() + n + 2);
  out->append(size, n);
  out->append(text);
  out->append("\r\n");
  return out;
}

} // namespace

sse_session::sse_session(beast::tcp_stream&& stream, transport_context_ptr ctx,
                         reply_to to, std::string origin, connection_slot slot)
  : slot_(std::move(slot)), stream_(std::move(stream)),
    strand_(stream_.get_executor()), ctx_(std::move(ctx)), to_(to),
    origin_(std::move(origin)) {}

sse_session::~sse_session() {
  if (actor_)
    caf::anon_send(actor_, closed_atom::value);
}

void sse_session::run(sse_plan plan) {
  // A stream lives as long as its run: no request deadline applies.
  stream_.expires_never();
  plan.keep_alive = ctx_->cfg.sse_keep_alive;
  actor_ = spawn_sse_stream(
    ctx_->sys, ctx_->deps.chats,
    std::make_shared<socket_stream_sink>(weak_from_this(), ctx_->actor_lease),
    std::move(plan), ctx_->deps.options);
  watch_peer();
}

void sse_session::watch_peer() {
  // An SSE client sends nothing after its request, so a finished read means
  // it went away (or broke the protocol): either way the stream is over.
  stream_.async_read_some(
    peer_bytes_.prepare(512),
    [self = shared_from_this()](beast::error_code ec, size_t n) {
      if (!ec) {
        self->peer_bytes_.consume(n);
        return self->watch_peer();
      }
      self->done_ = true;
      if (self->actor_)
        caf::anon_send(self->actor_, closed_atom::value);
    });
}

void sse_session::post_open(std::string run_id) {
  net::post(strand_, [self = shared_from_this(), run_id = std::move(run_id)] {
    http::response<http::empty_body> res{http::status::ok, self->to_.version};
    res.set(http::field::server, "parleyd");
    res.set(http::field::content_type, "text/event-stream; charset=utf-8");
    res.set(http::field::cache_control, "no-store");
    // Tells buffering proxies (nginx) to pass events on at once.
    res.set("X-Accel-Buffering", "no");
    res.set("X-Run-Id", run_id);
    add_cors_headers(self->ctx_->cfg, self->origin_, res);
    res.keep_alive(false);
    res.chunked(true);
    std::ostringstream head;
    head << res.base();
    self->enqueue(std::make_shared<const std::string>(head.str()));
  });
}

void sse_session::post_refuse(error_code code, std::string message,
                              std::string field) {
  net::post(strand_, [self = shared_from_this(), code,
                      message = std::move(message), field = std::move(field)] {
    auto res
      = error_response(self->to_, status_for(code), code, message, field);
    add_cors_headers(self->ctx_->cfg, self->origin_, res);
    res.keep_alive(false);
    std::ostringstream text;
    text << res;
    self->enqueue(std::make_shared<const std::string>(text.str()));
    self->ending_ = true;
  });
}

void sse_session::post_text(std::shared_ptr<const std::string> text) {
  net::post(strand_, [self = shared_from_this(), text = std::move(text)] {
    if (!self->ending_)
      self->enqueue(as_chunk(*text));
  });
}

void sse_session::post_end() {
  net::post(strand_, [self = shared_from_this()] {
    if (self->ending_)
      return;
    self->enqueue(std::make_shared<const std::string>("0\r\n\r\n"));
    self->ending_ = true;
  });
}

void sse_session::enqueue(std::shared_ptr<const std::string> chunk) {
  if (done_)
    return;
  if (queued_bytes_ + chunk->size() > ctx_->cfg.max_queued_bytes) {
    // The client stopped reading: drop it rather than grow without bound.
    ctx_->deps.log->warn("sse stream: {} bytes queued, the client reads too "
                         "slowly; closing",
                         queued_bytes_);
    return finish();
  }
  queued_bytes_ += chunk->size();
  queue_.push_back(std::move(chunk));
  if (!writing_)
    do_write();
}

void sse_session::do_write() {
  if (queue_.empty()) {
    if (ending_)
      finish();
    return;
  }
  in_flight_ = std::move(queue_.front());
  queue_.pop_front();
  queued_bytes_ -= in_flight_->size();
  writing_ = true;
  net::async_write(
    stream_, net::buffer(*in_flight_),
    beast::bind_front_handler(&sse_session::on_write, shared_from_this()));
}

void sse_session::on_write(beast::error_code ec, size_t) {
  writing_ = false;
  in_flight_.reset();
  if (ec) {
    fail(ctx_->deps.log, ec, "sse write");
    return finish();
  }
  do_write();
}

void sse_session::finish() {
  if (done_)
    return;
  done_ = true;
  queue_.clear();
  queued_bytes_ = 0;
  beast::error_code ec;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
  // Ends the read that watches the peer, which then tells the actor.
  stream_.socket().close(ec);
}

} // namespace parley
