// The one thing an SSE stream actor knows about its HTTP response: where to
// put its bytes. The transport implements it on a Beast stream (posting onto
// the connection's strand). Every member may be called from any thread and
// must not block.
#pragma once

#include <memory>
#include <string>

#include "protocol/error_code.hpp"

namespace parley {

class stream_sink {
 public:
  virtual ~stream_sink() = default;

  /// Starts the answer: 200 with `text/event-stream` headers, naming the
  /// run in `X-Run-Id`.
  virtual void open(std::string run_id) = 0;

  /// Answers with a JSON error instead of a stream (only before open).
  virtual void refuse(error_code code, std::string message, std::string field)
    = 0;

  /// Queues SSE text (one or more complete events or comments).
  virtual void send_text(std::shared_ptr<const std::string> text) = 0;

  /// Ends the stream after what is queued.
  virtual void end() = 0;
};

using stream_sink_ptr = std::shared_ptr<stream_sink>;

} // namespace parley
