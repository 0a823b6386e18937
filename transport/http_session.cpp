#include "transport/http_session.hpp"

#include <algorithm>

#include <boost/asio/dispatch.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include "transport/cors.hpp"
#include "transport/fail.hpp"
#include "transport/http_routes.hpp"
#include "transport/origin_check.hpp"
#include "transport/sse_session.hpp"
#include "transport/websocket_session.hpp"

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace parley {

namespace {

/// Room for the request line and headers plus one read of body bytes; the
/// parser moves body bytes out as they arrive, so this need not hold a body.
constexpr size_t read_buffer_limit = 64 * 1024;

/// Errors of the HTTP parser (the peer sent something we cannot use), as
/// opposed to errors of the socket.
bool is_parse_error(const beast::error_code& ec) {
  return ec.category() == make_error_code(http::error::bad_target).category();
}

} // namespace

http_session::http_session(net::ip::tcp::socket&& socket,
                           transport_context_ptr ctx, connection_slot slot)
  : slot_(std::move(slot)), stream_(std::move(socket)),
    buffer_(std::max(read_buffer_limit, ctx->cfg.max_header_bytes * 2)),
    ctx_(std::move(ctx)), header_deadline_(stream_.get_executor()) {}

void http_session::run() {
  // The socket was accepted onto this session's strand; start there.
  net::dispatch(
    stream_.get_executor(),
    beast::bind_front_handler(&http_session::do_read, shared_from_this()));
}

void http_session::do_read() {
  parser_.emplace();
  parser_->body_limit(ctx_->cfg.max_body_bytes);
  parser_->header_limit(static_cast<uint32_t>(ctx_->cfg.max_header_bytes));
  // Covers the whole request, so a slow sender (or an endless chunked body)
  // cannot hold the connection open. The stream's own timeout closes the
  // socket without a word; the head's shorter deadline is a timer of ours,
  // so that a client trickling headers hears 408.
  stream_.expires_after(ctx_->cfg.request_timeout);
  reading_header_ = true;
  header_timed_out_ = false;
  header_deadline_.expires_after(ctx_->cfg.header_timeout);
  header_deadline_.async_wait(beast::bind_front_handler(
    &http_session::on_header_timeout, shared_from_this()));
  http::async_read_header(stream_, buffer_, *parser_,
                          beast::bind_front_handler(
                            &http_session::on_read_header, shared_from_this()));
}

void http_session::on_header_timeout(beast::error_code ec) {
  if (ec || !reading_header_)
    return;
  // The pending read ends with operation_aborted; on_read answers.
  header_timed_out_ = true;
  stream_.cancel();
}

void http_session::on_read_header(beast::error_code ec, size_t bytes) {
  reading_header_ = false;
  header_deadline_.cancel();
  if (ec || parser_->is_done())
    return on_read(ec, bytes);
  // The body: the whole-request deadline set in do_read still runs.
  http::async_read(
    stream_, buffer_, *parser_,
    beast::bind_front_handler(&http_session::on_read, shared_from_this()));
}

void http_session::on_read(beast::error_code ec, size_t) {
  if (ec && header_timed_out_) {
    // Idle between two requests is no offence: close quietly, so a client
    // about to reuse the connection does not take a 408 for its answer.
    if (requests_ > 0 && !parser_->got_some())
      return do_close();
    ctx_->deps.log->debug("request head not complete within {}s; 408",
                          ctx_->cfg.header_timeout.count());
    return send(error_response(
      reply_to{11, false}, http::status::request_timeout, error_code::timeout,
      "request headers not complete within "
        + std::to_string(ctx_->cfg.header_timeout.count()) + " s"));
  }
  if (ec == http::error::end_of_stream)
    return do_close();
  if (is_parse_error(ec) && ec != http::error::partial_message)
    return on_bad_request(ec);
  if (ec)
    return fail(ctx_->deps.log, ec, "http read");
  dispatch(parser_->release());
}

void http_session::on_bad_request(beast::error_code ec) {
  // The request is unusable and the stream position uncertain: answer once
  // and close.
  reply_to to{11, false};
  if (ec == http::error::body_limit)
    return send(
      error_response(to, http::status::payload_too_large, error_code::too_large,
                     "request body exceeds "
                       + std::to_string(ctx_->cfg.max_body_bytes) + " bytes"));
  if (ec == http::error::header_limit)
    return send(
      error_response(to, http::status::request_header_fields_too_large,
                     error_code::too_large, "request headers are too large"));
  send(error_response(to, http::status::bad_request, error_code::invalid_field,
                      "malformed HTTP request: " + ec.message()));
}

std::optional<http_response>
http_session::refuse_origin(const http_request& req) const {
  upgrade_origin seen;
  if (auto it = req.find(http::field::origin); it != req.end())
    seen.origin = std::string_view{it->value().data(), it->value().size()};
  auto host = req[http::field::host];
  seen.host = std::string_view{host.data(), host.size()};
  seen.browser_markers = req.count("Sec-Fetch-Mode") > 0
                         || req.count("Sec-Fetch-Site") > 0
                         || req.count("Sec-Fetch-Dest") > 0;
  auto why = refuse_upgrade_origin(seen, ctx_->cfg.allowed_origins);
  if (!why)
    return std::nullopt;
  ctx_->deps.log->info("websocket upgrade refused (403): {}", *why);
  return error_response(reply_to{req.version(), false}, http::status::forbidden,
                        error_code::forbidden, *why);
}

void http_session::dispatch(http_request req) {
  ++requests_;
  auto origin = req[http::field::origin];
  origin_.assign(origin.data(), origin.size());
  auto respond = [self = shared_from_this()](http_response res) {
    self->send(std::move(res));
  };
  auto result
    = route_request(*ctx_, req, stream_.get_executor(), std::move(respond));
  if (auto res = std::get_if<http_response>(&result))
    return send(std::move(*res));
  if (auto ws = std::get_if<ws_target>(&result)) {
    if (auto refused = refuse_origin(req))
      return send(std::move(*refused));
    // The WebSocket takes the stream; this session ends when we return.
    std::make_shared<websocket_session>(
      std::move(stream_), ctx_, std::move(ws->session_id),
      std::move(ws->agent_name), std::move(ws->who.user), std::move(slot_))
      ->run(std::move(req));
    return;
  }
  if (auto sse = std::get_if<sse_target>(&result)) {
    // So does an event stream.
    std::make_shared<sse_session>(std::move(stream_), ctx_, reply_to_of(req),
                                  std::move(origin_), std::move(slot_))
      ->run(std::move(sse->plan));
    return;
  }
  // response_pending: an actor answers through `respond`.
  auto& pending = std::get<response_pending>(result);
  if (pending.on_abandon)
    watch_for_hangup(std::move(pending.on_abandon));
}

void http_session::watch_for_hangup(std::function<void()> on_abandon) {
  // The answer may take as long as a run: the request deadline no longer
  // applies, but a closed socket does. Waiting for readability consumes
  // nothing, so a pipelined next request stays in the socket.
  stream_.expires_never();
  watching_ = true;
  stream_.socket().async_wait(
    net::ip::tcp::socket::wait_read,
    [self = shared_from_this(),
     on_abandon = std::move(on_abandon)](beast::error_code ec) mutable {
      if (!self->watching_ || ec)
        return;
      // Readiness alone proves nothing (it can be reported without data):
      // only a peek that reads end-of-stream means the client hung up.
      auto& socket = self->stream_.socket();
      char byte;
      beast::error_code peek_error;
      socket.non_blocking(true, peek_error);
      auto n = socket.receive(net::buffer(&byte, 1),
                              net::socket_base::message_peek, peek_error);
      if (peek_error == net::error::would_block
          || peek_error == net::error::try_again)
        return self->watch_for_hangup(std::move(on_abandon));
      self->watching_ = false;
      if (n > 0)
        return; // a pipelined request: read after this answer
      // End of stream or a reset: the client is gone.
      on_abandon();
      beast::error_code ignored;
      socket.close(ignored);
    });
}

void http_session::send(http_response res) {
  if (watching_) {
    watching_ = false;
    beast::error_code ignored;
    stream_.socket().cancel(ignored);
  }
  if (!stream_.socket().is_open())
    return;
  add_cors_headers(ctx_->cfg, origin_, res);
  res_ = std::make_shared<http_response>(std::move(res));
  stream_.expires_after(ctx_->cfg.request_timeout);
  http::async_write(stream_, *res_,
                    beast::bind_front_handler(&http_session::on_write,
                                              shared_from_this(),
                                              res_->need_eof()));
}

void http_session::on_write(bool close, beast::error_code ec, size_t) {
  res_.reset();
  if (ec)
    return fail(ctx_->deps.log, ec, "http write");
  if (close)
    return do_close();
  do_read();
}

void http_session::do_close() {
  beast::error_code ec;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
}

} // namespace parley
