// The ceiling's WebSocket connection: decodes client frames, replays the
// captured researcher run one frame per strand turn (so a cancel read in
// between can cut it, as in parleyd), and writes through one bounded queue.
#include <chrono>
#include <ctime>

#include <boost/asio/post.hpp>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "ceiling.hpp"
#include "researcher_frames.hpp"

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

namespace parley::bench {

namespace {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

std::string string_member(const rapidjson::Value& obj, const char* name) {
  if (!obj.IsObject())
    return {};
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsString())
    return {};
  return {it->value.GetString(), it->value.GetStringLength()};
}

std::string raw_json(const rapidjson::Value& value) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  value.Accept(w);
  return {buf.GetString(), buf.GetSize()};
}

std::string error_frame(std::string_view code, std::string_view message) {
  return R"({"type":"error","data":{"code":")" + std::string{code}
         + R"(","message":")" + json_escape(message) + R"("}})";
}

} // namespace

const std::vector<frame_template>& run_frames() {
  // Built once: splitting a template costs more than rendering it.
  static const auto frames = [] {
    std::vector<frame_template> out;
    for (auto text : run_templates)
      out.emplace_back(text);
    return out;
  }();
  return frames;
}

std::string unix_us_now() {
  using namespace std::chrono;
  return std::to_string(
    duration_cast<microseconds>(system_clock::now().time_since_epoch())
      .count());
}

std::string iso8601_now() {
  auto ms = now_ms();
  std::time_t secs = ms / 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

std::string json_escape(std::string_view text) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  return {buf.GetString() + 1, buf.GetSize() - 2};
}

ceiling_session::ceiling_session(beast::tcp_stream&& stream,
                                 ceiling_state_ptr state,
                                 std::string session_id)
  : ws_(std::move(stream)), state_(std::move(state)),
    session_id_(std::move(session_id)), close_deadline_(ws_.get_executor()),
    step_timer_(ws_.get_executor()) {}

ceiling_session::~ceiling_session() {
  state_->remove(this);
}

void ceiling_session::run(http::request<http::string_body> req) {
  beast::get_lowest_layer(ws_).expires_never();
  // Beast's own keep-alive pings stand in for parleyd's heartbeat actor.
  websocket::stream_base::timeout timeouts{std::chrono::seconds(30),
                                           state_->cfg().heartbeat, true};
  ws_.set_option(timeouts);
  ws_.read_message_max(state_->cfg().max_frame_bytes);
  ws_.async_accept(req, beast::bind_front_handler(&ceiling_session::on_accept,
                                                  shared_from_this()));
}

void ceiling_session::on_accept(beast::error_code ec) {
  if (ec)
    return;
  state_->add(this, session_id_);
  auto sid = json_escape(session_id_);
  for (auto text : greeting_templates)
    enqueue(std::make_shared<const std::string>(frame_template{text}.render(
      [&](slot) -> std::string_view { return sid; })));
  do_read();
}

void ceiling_session::do_read() {
  ws_.async_read(buffer_, beast::bind_front_handler(&ceiling_session::on_read,
                                                    shared_from_this()));
}

void ceiling_session::on_read(beast::error_code ec, size_t) {
  if (ec) {
    // Unlisted now, not in the destructor: runs in flight elsewhere may
    // still hold this session as a follower for a while.
    state_->remove(this);
    done_ = true;
    // Keep the frame a write may still be sending from.
    while (queue_.size() > (writing_ ? 1u : 0u))
      queue_.pop_back();
    run_.reset(); // releases the followers it holds
    ++generation_;
    close_deadline_.cancel();
    step_timer_.cancel();
    return;
  }
  auto data = buffer_.data();
  handle_text({static_cast<const char*>(data.data()), data.size()});
  buffer_.consume(buffer_.size());
  do_read();
}

void ceiling_session::handle_text(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject())
    return enqueue(std::make_shared<const std::string>(
      error_frame("bad_json", "a frame must be a JSON object")));
  auto type = string_member(doc, "type");
  static const rapidjson::Value empty{rapidjson::kObjectType};
  const rapidjson::Value* payload = &empty;
  for (const char* key : {"payload", "data"})
    if (auto it = doc.FindMember(key);
        it != doc.MemberEnd() && it->value.IsObject()) {
      payload = &it->value;
      break;
    }
  if (type == "chat") {
    auto conversation = string_member(*payload, "conversation_id");
    start_run(conversation.empty() ? session_id_ : conversation,
              string_member(*payload, "client_msg_id"));
  } else if (type == "cancel") {
    auto id = string_member(*payload, "chat_session_id");
    if (id.empty())
      id = string_member(*payload, "client_msg_id");
    if (id.empty())
      id = string_member(doc, "session_id");
    cancel_run(id);
  } else if (type == "subscribe") {
    // Conversations only, and nothing is replayed: there is no store.
    auto conversation = string_member(*payload, "conversation_id");
    if (!conversation.empty())
      state_->subscribe(conversation, weak_from_this());
    enqueue(std::make_shared<const std::string>(
      R"({"type":"subscribed","data":{"conversation_id":")"
      + json_escape(conversation) + R"(","last_seq":0,"replayed":0}})"));
  } else if (type == "ping") {
    auto it = payload->FindMember("timestamp");
    auto ts = it == payload->MemberEnd() ? "null" : raw_json(it->value);
    enqueue(std::make_shared<const std::string>(
      R"({"type":"pong","data":{"timestamp":)" + ts + R"(,"server_time":)"
      + std::to_string(now_ms()) + "}}"));
  } else if (type != "interrupt") {
    enqueue(std::make_shared<const std::string>(
      error_frame("unknown_type", "unknown frame type")));
  }
}

// -- the replayed run ---------------------------------------------------------

void ceiling_session::start_run(std::string conversation,
                                std::string client_msg_id) {
  // As in parleyd, a new chat replaces the run still in flight.
  if (run_)
    cancel_run(run_->id);
  active_run r;
  r.id = state_->make_uuid();
  r.conversation = json_escape(conversation);
  r.client_msg_id = std::move(client_msg_id);
  r.timestamp = iso8601_now();
  r.message_id = state_->make_uuid();
  r.followers = state_->followers(conversation);
  run_ = std::move(r);
  auto gen = ++generation_;
  net::post(ws_.get_executor(),
            [self = shared_from_this(), gen] { self->step(gen); });
}

void ceiling_session::step(uint64_t generation) {
  if (generation != generation_ || !run_ || done_)
    return;
  auto index = run_->seq;
  publish(std::make_shared<const std::string>(render(index)));
  if (++run_->seq == run_frames().size()) {
    run_.reset();
    ++generation_;
    return;
  }
  // One frame per turn: reads and other connections' work interleave.
  auto next
    = [self = shared_from_this(), generation](beast::error_code ec = {}) {
        if (!ec)
          self->step(generation);
      };
  if (state_->cfg().token_interval.count() == 0)
    return net::post(ws_.get_executor(), std::move(next));
  step_timer_.expires_after(state_->cfg().token_interval);
  step_timer_.async_wait(std::move(next));
}

std::string ceiling_session::render(size_t index) {
  auto seq = std::to_string(index + 1);
  auto made = unix_us_now();
  return run_frames()[index].render([&](slot s) -> std::string_view {
    switch (s) {
      case slot::run: return run_->id;
      case slot::seq: return seq;
      case slot::time_us: return made;
      case slot::conversation: return run_->conversation;
      case slot::timestamp: return run_->timestamp;
      case slot::message_id: return run_->message_id;
      default: return {};
    }
  });
}

void ceiling_session::cancel_run(const std::string& id) {
  // A finished or unknown run: nothing to say (there is no store to ask).
  if (!run_ || !(id.empty() || id == run_->id || id == run_->client_msg_id))
    return;
  auto seq = std::to_string(run_->seq + 1);
  auto made = unix_us_now();
  publish(std::make_shared<const std::string>(
    frame_template{cancelled_template}.render([&](slot s) -> std::string_view {
      switch (s) {
        case slot::run: return run_->id;
        case slot::time_us: return made;
        default: return seq;
      }
    })));
  run_.reset();
  ++generation_;
}

void ceiling_session::publish(std::shared_ptr<const std::string> text) {
  for (auto& f : run_->followers)
    if (f.get() != this)
      f->post_text(text);
  enqueue(std::move(text));
}

// -- outbound -----------------------------------------------------------------

void ceiling_session::post_text(std::shared_ptr<const std::string> text) {
  net::post(ws_.get_executor(),
            [self = shared_from_this(), text = std::move(text)]() mutable {
              self->enqueue(std::move(text));
            });
}

void ceiling_session::enqueue(std::shared_ptr<const std::string> text) {
  if (done_ || closing_)
    return;
  const auto& cfg = state_->cfg();
  if (queue_.size() >= cfg.max_queued_frames
      || queued_bytes_ + text->size() > cfg.max_queued_bytes)
    return begin_close(websocket::close_code::policy_error,
                       "outbound queue full: client reads too slowly");
  queued_bytes_ += text->size();
  queue_.push_back(std::move(text));
  if (!writing_)
    do_write();
}

void ceiling_session::do_write() {
  if (queue_.empty())
    return;
  // The frame in flight stays at the front until its write completes.
  writing_ = true;
  ws_.text(true);
  ws_.async_write(
    net::buffer(*queue_.front()),
    beast::bind_front_handler(&ceiling_session::on_write, shared_from_this()));
}

void ceiling_session::on_write(beast::error_code ec, size_t) {
  writing_ = false;
  if (ec || queue_.empty())
    return;
  queued_bytes_ -= queue_.front()->size();
  queue_.pop_front();
  if (closing_) {
    ws_.async_close(*closing_, [self = shared_from_this()](beast::error_code) {
      self->close_deadline_.cancel();
    });
    return;
  }
  do_write();
}

void ceiling_session::begin_close(websocket::close_code code,
                                  std::string reason) {
  closing_ = websocket::close_reason{code, reason};
  // Keep only the frame being written; the close goes out after it.
  while (queue_.size() > (writing_ ? 1u : 0u))
    queue_.pop_back();
  queued_bytes_ = queue_.empty() ? 0 : queue_.front()->size();
  close_deadline_.expires_after(state_->cfg().close_timeout);
  close_deadline_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec)
      beast::get_lowest_layer(self->ws_).close();
  });
  if (!writing_)
    ws_.async_close(*closing_, [self = shared_from_this()](beast::error_code) {
      self->close_deadline_.cancel();
    });
}

} // namespace parley::bench
