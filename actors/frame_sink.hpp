// The one thing a WebSocket session actor knows about its socket: somewhere
// to put encoded frames. The transport implements it on top of a Beast
// websocket (posting onto the socket's strand); tests implement it with a
// recorder. Every member may be called from any thread and must not block.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace parley {

class frame_sink {
 public:
  virtual ~frame_sink() = default;

  /// Queues one text frame. The bytes are shared: one encoded event may sit
  /// in the queues of many connections at once.
  virtual void send_text(std::shared_ptr<const std::string> text) = 0;

  /// Queues several text frames in order. The transport hands them to its
  /// socket in one step (one post onto the strand instead of one each).
  virtual void
  send_texts(std::vector<std::shared_ptr<const std::string>> texts) {
    for (auto& text : texts)
      send_text(std::move(text));
  }

  /// Sends a WebSocket ping control frame (the heartbeat).
  virtual void send_ping() = 0;

  /// Closes the socket with a close frame carrying `code` and `reason`.
  virtual void close(uint16_t code, std::string reason) = 0;
};

using frame_sink_ptr = std::shared_ptr<frame_sink>;

} // namespace parley
