#include "ws_client.hpp"

#include <optional>
#include <sstream>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace parley::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace {

/// Runs `ioc` until `done` holds. Returns false when the context ran out of
/// work first, which would be a bug in the caller.
bool run_until(net::io_context& ioc, const bool& done) {
  ioc.restart();
  while (!done)
    if (ioc.run_one() == 0)
      return false;
  // Completions the operation left behind (e.g. its cancelled timer).
  ioc.poll();
  return true;
}

/// Connects `stream` to 127.0.0.1:port within its current expiry.
beast::error_code connect_loopback(net::io_context& ioc,
                                   beast::tcp_stream& stream, uint16_t port) {
  beast::error_code result;
  bool done = false;
  tcp::endpoint endpoint{net::ip::make_address_v4("127.0.0.1"), port};
  stream.async_connect(endpoint, [&](beast::error_code ec) {
    result = ec;
    done = true;
  });
  if (!run_until(ioc, done))
    return net::error::operation_aborted;
  return result;
}

std::string kind_name(ws_frame::kind what) {
  switch (what) {
    case ws_frame::kind::text: return "text";
    case ws_frame::kind::binary: return "binary";
    case ws_frame::kind::closed: return "closed";
    case ws_frame::kind::timeout: return "timeout";
    case ws_frame::kind::error: return "error";
  }
  return "?";
}

std::string describe_all(const std::vector<ws_frame>& frames) {
  std::string out;
  for (const auto& frame : frames)
    out += "\n  " + frame.describe();
  return out.empty() ? " (none)" : out;
}

const rapidjson::Value& member_of(const ws_frame& frame, const char* name) {
  const auto& data = frame.data();
  auto it = data.FindMember(name);
  if (it == data.MemberEnd())
    throw std::runtime_error(std::string{"frame has no data."} + name + ": "
                             + frame.describe());
  return it->value;
}

[[noreturn]] void wrong_type(const ws_frame& frame, const char* name,
                             const char* expected) {
  throw std::runtime_error(std::string{"data."} + name + " is not " + expected
                           + ": " + frame.describe());
}

} // namespace

// -- ws_frame -----------------------------------------------------------------

bool ws_frame::is_json() const {
  return what == kind::text && json.IsObject();
}

std::string ws_frame::type() const {
  if (!is_json())
    return {};
  auto it = json.FindMember("type");
  if (it == json.MemberEnd() || !it->value.IsString())
    return {};
  return {it->value.GetString(), it->value.GetStringLength()};
}

const rapidjson::Value& ws_frame::data() const {
  if (!is_json())
    throw std::runtime_error("not a JSON frame: " + describe());
  auto it = json.FindMember("data");
  if (it == json.MemberEnd() || !it->value.IsObject())
    throw std::runtime_error("frame has no data object: " + describe());
  return it->value;
}

bool ws_frame::has(const char* name) const {
  return data().HasMember(name);
}

const rapidjson::Value& ws_frame::at(const char* name) const {
  return member_of(*this, name);
}

std::string ws_frame::str(const char* name) const {
  const auto& value = member_of(*this, name);
  if (!value.IsString())
    wrong_type(*this, name, "a string");
  return {value.GetString(), value.GetStringLength()};
}

uint64_t ws_frame::uint(const char* name) const {
  const auto& value = member_of(*this, name);
  if (!value.IsUint64())
    wrong_type(*this, name, "an unsigned integer");
  return value.GetUint64();
}

bool ws_frame::boolean(const char* name) const {
  const auto& value = member_of(*this, name);
  if (!value.IsBool())
    wrong_type(*this, name, "a bool");
  return value.GetBool();
}

std::string ws_frame::run_id() const {
  if (!is_json())
    return {};
  auto it = json.FindMember("data");
  if (it == json.MemberEnd() || !it->value.IsObject())
    return {};
  auto id = it->value.FindMember("chat_session_id");
  if (id == it->value.MemberEnd() || !id->value.IsString())
    return {};
  return {id->value.GetString(), id->value.GetStringLength()};
}

uint64_t ws_frame::seq() const {
  if (!is_json())
    return 0;
  auto it = json.FindMember("data");
  if (it == json.MemberEnd() || !it->value.IsObject())
    return 0;
  auto seq = it->value.FindMember("seq");
  return seq != it->value.MemberEnd() && seq->value.IsUint64()
           ? seq->value.GetUint64()
           : 0;
}

std::string ws_frame::describe() const {
  std::ostringstream out;
  out << kind_name(what);
  switch (what) {
    case kind::text:
    case kind::binary:
      out << ' '
          << (payload.size() > 300 ? payload.substr(0, 300) + "..." : payload);
      break;
    case kind::closed:
      out << " code " << close.code << " reason '" << close.reason << "'";
      break;
    default: out << ' ' << ec.message();
  }
  return out.str();
}

// -- ws_client ----------------------------------------------------------------

template<class Start>
beast::error_code ws_client::run(millis timeout, Start&& start) {
  auto& lowest = beast::get_lowest_layer(ws_);
  lowest.expires_after(timeout);
  beast::error_code result;
  bool done = false;
  start([&result, &done](beast::error_code ec, auto&&...) {
    result = ec;
    done = true;
  });
  if (!run_until(ioc_, done))
    throw std::logic_error("ws_client: the operation never completed");
  lowest.expires_never();
  return result;
}

ws_client::ws_client(uint16_t port, std::string target, millis timeout)
  : ws_(ioc_) {
  auto& lowest = beast::get_lowest_layer(ws_);
  lowest.expires_after(timeout);
  if (auto ec = connect_loopback(ioc_, lowest, port))
    throw std::runtime_error("connect to port " + std::to_string(port) + ": "
                             + ec.message());
  ws_.control_callback([this](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::ping)
      ++pings_seen_;
  });
  auto host = "127.0.0.1:" + std::to_string(port);
  auto ec = run(timeout, [&](auto handler) {
    ws_.async_handshake(host, target, std::move(handler));
  });
  if (ec)
    throw std::runtime_error("WebSocket upgrade of " + target + ": "
                             + ec.message());
}

ws_client::~ws_client() {
  drop();
}

std::string ws_client::read_greeting(millis timeout) {
  auto first = read_frame(timeout);
  auto second = read_frame(timeout);
  if (first.type() != "connected" || second.type() != "session_start")
    throw std::runtime_error("expected connected + session_start, got:\n  "
                             + first.describe() + "\n  " + second.describe());
  auto id = first.str("session_id");
  if (second.str("session_id") != id
      || second.str("agent_name") != first.str("agent_name"))
    throw std::runtime_error("the greeting frames disagree:\n  "
                             + first.describe() + "\n  " + second.describe());
  return id;
}

void ws_client::send_text(std::string_view text, millis timeout) {
  ws_.text(true);
  auto ec = run(timeout, [&](auto handler) {
    ws_.async_write(net::buffer(text.data(), text.size()), std::move(handler));
  });
  if (ec)
    throw std::runtime_error("send_text: " + ec.message());
}

void ws_client::send_binary(std::string_view bytes, millis timeout) {
  ws_.binary(true);
  auto ec = run(timeout, [&](auto handler) {
    ws_.async_write(net::buffer(bytes.data(), bytes.size()),
                    std::move(handler));
  });
  ws_.text(true);
  if (ec)
    throw std::runtime_error("send_binary: " + ec.message());
}

ws_frame ws_client::read_frame(millis timeout) {
  ws_frame frame;
  buffer_.clear();
  auto ec = run(timeout, [&](auto handler) {
    ws_.async_read(buffer_, std::move(handler));
  });
  if (ec == websocket::error::closed) {
    frame.what = ws_frame::kind::closed;
    frame.close = ws_.reason();
    return frame;
  }
  if (ec) {
    frame.what = ec == beast::error::timeout ? ws_frame::kind::timeout
                                             : ws_frame::kind::error;
    frame.ec = ec;
    return frame;
  }
  frame.payload = beast::buffers_to_string(buffer_.data());
  if (ws_.got_binary()) {
    frame.what = ws_frame::kind::binary;
    return frame;
  }
  frame.what = ws_frame::kind::text;
  frame.json.Parse(frame.payload.data(), frame.payload.size());
  if (frame.json.HasParseError())
    frame.json.SetNull();
  return frame;
}

std::vector<ws_frame>
ws_client::read_until(const std::function<bool(const ws_frame&)>& stop,
                      millis timeout, std::string what) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<ws_frame> frames;
  for (;;) {
    auto left = std::chrono::duration_cast<millis>(
      deadline - std::chrono::steady_clock::now());
    auto frame = read_frame(std::max(left, millis{1}));
    bool text_or_binary = frame.what == ws_frame::kind::text
                          || frame.what == ws_frame::kind::binary;
    if (!text_or_binary)
      throw std::runtime_error("waiting for " + what + " within "
                               + std::to_string(timeout.count())
                               + " ms: " + frame.describe()
                               + "; frames before it:" + describe_all(frames));
    frames.push_back(std::move(frame));
    if (stop(frames.back()))
      return frames;
  }
}

std::vector<ws_frame> ws_client::read_until(std::string_view type,
                                            millis timeout) {
  return read_until(
    [type](const ws_frame& frame) { return frame.type() == type; }, timeout,
    "a '" + std::string{type} + "' frame");
}

std::vector<ws_frame> ws_client::read_until_fence(millis timeout) {
  auto token = "fence-" + std::to_string(++fence_counter_);
  send_text(R"({"type":"ping","payload":{"timestamp":")" + token + "\"}}");
  auto frames = read_until(
    [&token](const ws_frame& frame) {
      if (frame.type() != "pong")
        return false;
      auto ts = frame.data().FindMember("timestamp");
      return ts != frame.data().MemberEnd() && ts->value.IsString()
             && token == ts->value.GetString();
    },
    timeout, "the pong of " + token);
  frames.pop_back();
  return frames;
}

void ws_client::close(millis timeout) {
  auto ec = run(timeout, [&](auto handler) {
    ws_.async_close(websocket::close_code::normal, std::move(handler));
  });
  if (ec)
    throw std::runtime_error("close: " + ec.message());
}

void ws_client::drop() {
  auto& lowest = beast::get_lowest_layer(ws_);
  if (!lowest.socket().is_open())
    return;
  beast::error_code ignored;
  lowest.socket().shutdown(tcp::socket::shutdown_both, ignored);
  lowest.close();
}

bool ws_client::is_open() const {
  return ws_.is_open();
}

websocket::close_reason ws_client::reason() const {
  return ws_.reason();
}

// -- HTTP ---------------------------------------------------------------------

std::string http_reply::header(std::string_view name) const {
  auto it = headers.find(beast::string_view{name.data(), name.size()});
  return it == headers.end() ? std::string{} : std::string{it->value()};
}

http_reply http_request(uint16_t port, http::verb method, std::string target,
                        std::string body, millis timeout) {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  stream.expires_after(timeout);
  auto what = std::string{http::to_string(method)} + " " + target;
  if (auto ec = connect_loopback(ioc, stream, port))
    throw std::runtime_error(what + ": connect: " + ec.message());
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  req.set(http::field::connection, "close");
  if (!body.empty())
    req.set(http::field::content_type, "application/json");
  req.body() = std::move(body);
  req.prepare_payload();
  beast::error_code result;
  bool done = false;
  http::async_write(stream, req, [&](beast::error_code ec, size_t) {
    result = ec;
    done = true;
  });
  run_until(ioc, done);
  if (result)
    throw std::runtime_error(what + ": write: " + result.message());
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  done = false;
  http::async_read(stream, buffer, res, [&](beast::error_code ec, size_t) {
    result = ec;
    done = true;
  });
  run_until(ioc, done);
  if (result)
    throw std::runtime_error(what + ": read: " + result.message());
  http_reply reply;
  reply.status = res.result_int();
  reply.body = res.body();
  reply.headers = res.base();
  reply.json.Parse(reply.body.data(), reply.body.size());
  if (reply.json.HasParseError())
    reply.json.SetNull();
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return reply;
}

unsigned websocket_upgrade_status(uint16_t port, const std::string& target,
                                  millis timeout) {
  net::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
  auto& lowest = beast::get_lowest_layer(ws);
  lowest.expires_after(timeout);
  if (auto ec = connect_loopback(ioc, lowest, port))
    throw std::runtime_error("connect: " + ec.message());
  websocket::response_type res;
  beast::error_code result;
  bool done = false;
  ws.async_handshake(res, "127.0.0.1:" + std::to_string(port), target,
                     [&](beast::error_code ec) {
                       result = ec;
                       done = true;
                     });
  run_until(ioc, done);
  if (result && result != websocket::error::upgrade_declined)
    throw std::runtime_error("upgrade " + target + ": " + result.message());
  lowest.close();
  return res.result_int();
}

std::string to_json(const rapidjson::Value& value) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> writer{buf};
  value.Accept(writer);
  return {buf.GetString(), buf.GetSize()};
}

int64_t unix_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

} // namespace parley::test
