#include "transport/websocket_session.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/ws_session.hpp"
#include "protocol/codec.hpp"
#include "transport/access.hpp"
#include "transport/fail.hpp"

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

namespace parley {

namespace {

/// The actor's handle on its socket. It holds the session weakly: a frame
/// sent after the connection ended finds nothing and is dropped.
class socket_frame_sink final : public frame_sink {
 public:
  socket_frame_sink(std::weak_ptr<websocket_session> session,
                    std::shared_ptr<const void> lease)
    : session_(std::move(session)), lease_(std::move(lease)) {}

  void send_text(std::shared_ptr<const std::string> text) override {
    if (auto session = session_.lock())
      session->post_text(std::move(text));
  }

  void
  send_texts(std::vector<std::shared_ptr<const std::string>> texts) override {
    if (auto session = session_.lock())
      session->post_texts(std::move(texts));
  }

  void send_ping() override {
    if (auto session = session_.lock())
      session->post_ping();
  }

  void close(uint16_t code, std::string reason) override {
    if (auto session = session_.lock())
      session->post_close(code, std::move(reason));
  }

 private:
  std::weak_ptr<websocket_session> session_;
  std::shared_ptr<const void> lease_;
};

/// A close frame carries at most 123 bytes of reason (RFC 6455 5.5); cut at
/// a UTF-8 character boundary, since the peer validates it.
std::string clip_reason(std::string reason) {
  if (reason.size() <= 123)
    return reason;
  reason.resize(123);
  while (!reason.empty()
         && (static_cast<uint8_t>(reason.back()) & 0xC0) == 0x80)
    reason.pop_back();
  if (!reason.empty() && static_cast<uint8_t>(reason.back()) >= 0xC0)
    reason.pop_back();
  return reason;
}

/// Codes an endpoint may send (RFC 6455 7.4): 1005, 1006 and 1015 only
/// describe closes, they never travel in a frame.
uint16_t sendable_code(uint16_t code) {
  bool reserved = code == 1004 || code == 1005 || code == 1006 || code == 1015;
  if (code < 1000 || code > 4999 || reserved)
    return websocket::close_code::internal_error;
  return code;
}

void decorate_handshake(websocket::response_type& res) {
  res.set(http::field::server, "parleyd");
  if (res.result() == http::status::switching_protocols)
    return;
  // Beast refused the handshake (no key, wrong version) and wrote its reason
  // as plain text; clients get the JSON error shape of every other route.
  auto reason = "websocket handshake refused: " + res.body();
  res.set(http::field::content_type, "application/json");
  res.body() = error_json(error_code::invalid_field, reason);
  res.prepare_payload();
}

} // namespace

websocket_session::websocket_session(beast::tcp_stream&& stream,
                                     transport_context_ptr ctx,
                                     std::string session_id,
                                     std::string agent_name, std::string owner,
                                     connection_slot slot)
  : slot_(std::move(slot)), ws_(std::move(stream)), strand_(ws_.get_executor()),
    ctx_(std::move(ctx)), session_id_(std::move(session_id)),
    agent_name_(std::move(agent_name)), owner_(std::move(owner)),
    close_deadline_(strand_), idle_deadline_(strand_) {}

websocket_session::~websocket_session() {
  // Covers the paths that never saw a read error, e.g. the I/O context
  // stopping with this session still open.
  notify_closed();
  ctx_->websockets.remove(this);
}

void websocket_session::run(http_request req) {
  // From here on the websocket's own timeouts apply: 30 s for the opening
  // and closing handshakes, no idle timeout and no Beast pings, because the
  // ws_session actor runs the heartbeat (it decides when a peer is silent).
  beast::get_lowest_layer(ws_).expires_never();
  websocket::stream_base::timeout timeouts{
    ctx_->cfg.request_timeout, websocket::stream_base::none(), false};
  ws_.set_option(timeouts);
  // A browser that sent its token as a subprotocol ("parley, bearer.X")
  // drops the connection unless the answer names one it offered.
  ws_.set_option(websocket::stream_base::decorator(
    [protocol
     = std::string{accepted_subprotocol(req)}](websocket::response_type& res) {
      decorate_handshake(res);
      if (!protocol.empty()
          && res.result() == http::status::switching_protocols)
        res.set(http::field::sec_websocket_protocol, protocol);
    }));
  ws_.read_message_max(ctx_->cfg.max_frame_bytes);
  ws_.async_accept(req, beast::bind_front_handler(&websocket_session::on_accept,
                                                  shared_from_this()));
}

void websocket_session::on_accept(beast::error_code ec) {
  if (ec)
    return fail(ctx_->deps.log, ec, "websocket accept");
  spawn_actor();
  last_heard_ = std::chrono::steady_clock::now();
  watch_idle();
  do_read();
}

void websocket_session::watch_idle() {
  // One timer per connection, re-armed only when it fires: a frame just
  // stamps last_heard_, which is cheaper than resetting a timer per frame.
  // The actor's heartbeat normally closes a silent peer first; this bound
  // holds even when the heartbeat period is long or the actor is stuck.
  auto timeout = ctx_->cfg.ws_idle_timeout;
  if (timeout.count() <= 0 || done_)
    return;
  idle_deadline_.expires_at(last_heard_ + timeout);
  idle_deadline_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec || self->done_)
      return;
    auto timeout = self->ctx_->cfg.ws_idle_timeout;
    if (std::chrono::steady_clock::now() - self->last_heard_ < timeout)
      return self->watch_idle();
    self->ctx_->deps.log->info("websocket {}: nothing received for {}s, "
                               "closing (1001)",
                               self->session_id_, timeout.count());
    self->begin_close(websocket::close_code::going_away,
                      "idle timeout: nothing received for "
                        + std::to_string(timeout.count()) + " s");
  });
}

void websocket_session::spawn_actor() {
  // Pings and pongs from the peer both prove it is alive. The callback runs
  // inside our own read operation, so `this` is valid.
  ws_.control_callback([this](websocket::frame_type kind, beast::string_view) {
    last_heard_ = std::chrono::steady_clock::now();
    if (kind != websocket::frame_type::close)
      caf::anon_send(actor_, pong_atom::value);
  });
  const auto& deps = ctx_->deps;
  actor_ = spawn_ws_session(
    ctx_->sys,
    ws_session_deps{deps.chats, deps.connections, deps.options, deps.log},
    std::make_shared<socket_frame_sink>(weak_from_this(), ctx_->actor_lease),
    session_id_, owner_, agent_name_);
  ctx_->websockets.add(this, weak_from_this());
  deps.log->info("websocket {} open (agent {})", session_id_, agent_name_);
}

void websocket_session::do_read() {
  ws_.async_read(buffer_, beast::bind_front_handler(&websocket_session::on_read,
                                                    shared_from_this()));
}

void websocket_session::on_read(beast::error_code ec, size_t) {
  if (ec) {
    // Beast has already answered a protocol violation with its close frame
    // (1009 for an oversized message, 1002/1007 for bad frames).
    if (ec == websocket::error::message_too_big)
      ctx_->deps.log->info("websocket {}: message over {} bytes, closed (1009)",
                           session_id_, ctx_->cfg.max_frame_bytes);
    else
      fail(ctx_->deps.log, ec, "websocket read");
    done_ = true;
    queue_.clear();
    queued_bytes_ = 0;
    close_deadline_.cancel();
    idle_deadline_.cancel();
    notify_closed();
    return;
  }
  last_heard_ = std::chrono::steady_clock::now();
  if (ws_.got_text())
    forward_text();
  else
    forward_binary();
  buffer_.consume(buffer_.size());
  do_read();
}

void websocket_session::forward_text() {
  // Decoding here keeps the actor's mailbox free of raw bytes; the codec is
  // bounded in depth and size, so it cannot stall this thread for long.
  auto data = buffer_.data();
  std::string_view text{static_cast<const char*>(data.data()), data.size()};
  std::visit([this](auto&& frame) { caf::anon_send(actor_, std::move(frame)); },
             decode_client_frame(text));
}

void websocket_session::forward_binary() {
  caf::anon_send(actor_,
                 decode_error{error_code::unsupported_frame,
                              "binary frames are not supported; send JSON "
                              "text",
                              "", ""});
}

void websocket_session::notify_closed() {
  if (closed_notified_ || !actor_)
    return;
  closed_notified_ = true;
  caf::anon_send(actor_, closed_atom::value);
  ctx_->deps.log->info("websocket {} closed", session_id_);
}

// -- outbound -----------------------------------------------------------------

void websocket_session::post_text(std::shared_ptr<const std::string> text) {
  net::post(strand_, [self = shared_from_this(), text = std::move(text)] {
    self->enqueue(outbound{text});
  });
}

void websocket_session::post_texts(
  std::vector<std::shared_ptr<const std::string>> texts) {
  net::post(strand_, [self = shared_from_this(), texts = std::move(texts)] {
    for (auto& text : texts)
      self->enqueue(outbound{text});
  });
}

void websocket_session::post_ping() {
  net::post(strand_, [self = shared_from_this()] { self->enqueue({}); });
}

void websocket_session::post_close(uint16_t code, std::string reason) {
  net::post(strand_, [self = shared_from_this(), code,
                      reason = std::move(reason)]() mutable {
    self->begin_close(code, std::move(reason));
  });
}

void websocket_session::enqueue(outbound item) {
  if (done_ || closing_)
    return;
  auto size = item.text ? item.text->size() : 0;
  const auto& cfg = ctx_->cfg;
  if (queue_.size() >= cfg.max_queued_frames
      || queued_bytes_ + size > cfg.max_queued_bytes) {
    ctx_->deps.log->warn("websocket {}: {} frames ({} bytes) queued, the peer "
                         "reads too slowly; closing with 1008",
                         session_id_, queue_.size(), queued_bytes_);
    return begin_close(websocket::close_code::policy_error,
                       "outbound queue full: client reads too slowly");
  }
  queued_bytes_ += size;
  queue_.push_back(std::move(item));
  if (!writing_)
    do_write();
}

void websocket_session::do_write() {
  if (queue_.empty())
    return;
  // The frame in flight leaves the queue, so a close that clears the queue
  // cannot free the bytes Beast is still writing.
  in_flight_ = std::move(queue_.front());
  queue_.pop_front();
  writing_ = true;
  if (!in_flight_.text) {
    ws_.async_ping({}, [self = shared_from_this()](beast::error_code ec) {
      self->on_write(ec, 0);
    });
    return;
  }
  queued_bytes_ -= in_flight_.text->size();
  ws_.text(true);
  ws_.async_write(net::buffer(*in_flight_.text),
                  beast::bind_front_handler(&websocket_session::on_write,
                                            shared_from_this()));
}

void websocket_session::on_write(beast::error_code ec, size_t) {
  writing_ = false;
  in_flight_ = {};
  if (ec) {
    fail(ctx_->deps.log, ec, "websocket write");
    return drop_socket();
  }
  if (closing_ && !close_sent_)
    return send_close();
  do_write();
}

void websocket_session::begin_close(uint16_t code, std::string reason) {
  if (done_ || closing_)
    return;
  closing_ = websocket::close_reason{
    static_cast<websocket::close_code>(sendable_code(code)),
    clip_reason(std::move(reason))};
  queue_.clear();
  queued_bytes_ = 0;
  close_deadline_.expires_after(ctx_->cfg.close_timeout);
  close_deadline_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec)
      return;
    self->ctx_->deps.log->info("websocket {}: close handshake timed out",
                               self->session_id_);
    self->drop_socket();
  });
  if (!writing_)
    send_close();
}

void websocket_session::send_close() {
  close_sent_ = true;
  writing_ = true;
  ws_.async_close(*closing_,
                  beast::bind_front_handler(&websocket_session::on_close,
                                            shared_from_this()));
}

void websocket_session::on_close(beast::error_code ec) {
  writing_ = false;
  close_deadline_.cancel();
  if (ec)
    fail(ctx_->deps.log, ec, "websocket close");
}

void websocket_session::drop_socket() {
  // Aborts the pending read, whose handler then reports `closed`.
  beast::get_lowest_layer(ws_).close();
}

} // namespace parley
