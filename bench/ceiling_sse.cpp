// The ceiling's Server-Sent Events response: the researcher run replayed as
// parleyd streams it over REST (docs/rest.md): the head (200,
// text/event-stream, chunked, Connection: close, X-Run-Id), then per frame
// one HTTP chunk `id: SEQ\nevent: TYPE\ndata: FRAME\n\n`, paced like the
// WebSocket replay (one frame per strand turn, or --token-interval-ms
// apart), then the last chunk, and the connection is closed.
#include <deque>
#include <memory>
#include <sstream>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <rapidjson/document.h>

#include "ceiling.hpp"
#include "researcher_frames.hpp"

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace parley::bench {

namespace {

/// The frames' own types (the first "type" of each template), found once.
const std::vector<std::string>& frame_types() {
  static const auto types = [] {
    std::vector<std::string> out;
    constexpr std::string_view key = R"("type":")";
    for (auto text : run_templates) {
      auto p = text.find(key) + key.size();
      out.emplace_back(text.substr(p, text.find('"', p) - p));
    }
    return out;
  }();
  return types;
}

/// `text` framed as one HTTP/1.1 chunk.
std::shared_ptr<const std::string> as_chunk(std::string_view text) {
  char size[20];
  auto n = std::snprintf(size, sizeof size, "%zx\r\n", text.size());
  auto out = std::make_shared<std::string>();
  out->reserve(text.size() + n + 2);
  out->append(size, n);
  out->append(text);
  out->append("\r\n");
  return out;
}

std::string conversation_of(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject())
    return {};
  auto it = doc.FindMember("conversation_id");
  if (it == doc.MemberEnd() || !it->value.IsString())
    return {};
  return {it->value.GetString(), it->value.GetStringLength()};
}

/// Represents one SSE response and its run. Every member is touched only on
/// the connection's strand.
class ceiling_sse : public std::enable_shared_from_this<ceiling_sse> {
 public:
  ceiling_sse(beast::tcp_stream&& stream, ceiling_state_ptr state,
              std::string conversation, unsigned version)
    : stream_(std::move(stream)), state_(std::move(state)),
      conversation_(json_escape(conversation)), version_(version),
      step_timer_(stream_.get_executor()) {
    run_id_ = state_->make_uuid();
    message_id_ = state_->make_uuid();
    timestamp_ = iso8601_now();
    if (conversation_.empty())
      conversation_ = state_->make_uuid();
  }

  void run() {
    // A stream lives as long as its run: no request deadline applies.
    stream_.expires_never();
    enqueue(std::make_shared<const std::string>(head()));
    net::post(stream_.get_executor(),
              [self = shared_from_this()] { self->step(); });
    watch_peer();
  }

 private:
  std::string head() const {
    http::response<http::empty_body> res{http::status::ok, version_};
    res.set(http::field::server, "ceiling");
    res.set(http::field::content_type, "text/event-stream; charset=utf-8");
    res.set(http::field::cache_control, "no-store");
    res.set("X-Accel-Buffering", "no");
    res.set("X-Run-Id", run_id_);
    res.keep_alive(false);
    res.chunked(true);
    std::ostringstream text;
    text << res.base();
    return text.str();
  }

  void step() {
    if (done_)
      return;
    auto seq = std::to_string(next_ + 1);
    auto made = unix_us_now();
    auto frame = run_frames()[next_].render([&](slot s) -> std::string_view {
      switch (s) {
        case slot::run: return run_id_;
        case slot::seq: return seq;
        case slot::time_us: return made;
        case slot::conversation: return conversation_;
        case slot::timestamp: return timestamp_;
        case slot::message_id: return message_id_;
        default: return {};
      }
    });
    const auto& type = frame_types()[next_];
    std::string event;
    event.reserve(frame.size() + type.size() + 32);
    event.append("id: ").append(seq).append("\nevent: ").append(type);
    event.append("\ndata: ").append(frame).append("\n\n");
    enqueue(as_chunk(event));
    if (++next_ == run_frames().size()) {
      enqueue(std::make_shared<const std::string>("0\r\n\r\n"));
      ending_ = true;
      return;
    }
    auto again = [self = shared_from_this()](beast::error_code ec = {}) {
      if (!ec)
        self->step();
    };
    if (state_->cfg().token_interval.count() == 0)
      return net::post(stream_.get_executor(), std::move(again));
    step_timer_.expires_after(state_->cfg().token_interval);
    step_timer_.async_wait(std::move(again));
  }

  void watch_peer() {
    // The client sends nothing after its request: a finished read means it
    // went away, and the run stops (parleyd's run goes on; nobody reads it).
    stream_.async_read_some(
      peer_bytes_.prepare(512),
      [self = shared_from_this()](beast::error_code ec, size_t n) {
        if (!ec) {
          self->peer_bytes_.consume(n);
          return self->watch_peer();
        }
        self->done_ = true;
        self->queue_.clear();
        self->queued_bytes_ = 0;
        self->step_timer_.cancel();
      });
  }

  void enqueue(std::shared_ptr<const std::string> chunk) {
    if (done_)
      return;
    // As parleyd: a client that stops reading is dropped, not buffered for.
    if (queued_bytes_ + chunk->size() > state_->cfg().max_queued_bytes)
      return finish();
    queued_bytes_ += chunk->size();
    queue_.push_back(std::move(chunk));
    if (!writing_)
      do_write();
  }

  void do_write() {
    if (queue_.empty()) {
      if (ending_)
        finish();
      return;
    }
    // Held apart from the queue, which finish() may clear meanwhile.
    in_flight_ = std::move(queue_.front());
    queue_.pop_front();
    queued_bytes_ -= in_flight_->size();
    writing_ = true;
    net::async_write(
      stream_, net::buffer(*in_flight_),
      beast::bind_front_handler(&ceiling_sse::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, size_t) {
    writing_ = false;
    in_flight_.reset();
    if (ec)
      return finish();
    do_write();
  }

  void finish() {
    if (done_)
      return;
    done_ = true;
    queue_.clear();
    queued_bytes_ = 0;
    step_timer_.cancel();
    beast::error_code ec;
    stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  ceiling_state_ptr state_;
  std::string run_id_, conversation_, timestamp_, message_id_;
  unsigned version_;
  size_t next_ = 0;
  std::deque<std::shared_ptr<const std::string>> queue_;
  size_t queued_bytes_ = 0;
  std::shared_ptr<const std::string> in_flight_;
  bool writing_ = false;
  bool ending_ = false; ///< the last chunk is queued
  bool done_ = false;
  net::steady_timer step_timer_;
  beast::flat_buffer peer_bytes_;
};

} // namespace

void start_sse_run(beast::tcp_stream&& stream, ceiling_state_ptr state,
                   const http::request<http::string_body>& req) {
  std::make_shared<ceiling_sse>(std::move(stream), std::move(state),
                                conversation_of(req.body()), req.version())
    ->run();
}

} // namespace parley::bench
