// The HTTP/WebSocket front door of parleyd. Its public face is deliberately
// small (no Beast or Asio types), so only the transport's own .cpp files pay
// for compiling Beast.
//
//   client --TCP--> listener --accept--> http_session --REST--> actor_bridge
//                                              | upgrade          -->
//                                              registries
//                                              v
//                                   websocket_session <--frame_sink--
//                                   ws_session
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/interfaces.hpp"
#include "actors/options.hpp"
#include "transport/access_policy.hpp"

namespace parley {

/// Socket-level limits and the address to bind.
struct server_config {
  std::string host = "127.0.0.1";
  /// 0 lets the kernel pick a free port; see server::port().
  uint16_t port = 8080;
  /// Threads that run the I/O context.
  size_t threads = 2;
  /// Largest WebSocket message accepted; bigger ones are closed with 1009.
  size_t max_frame_bytes = 1 << 20;
  /// Largest HTTP request body; bigger ones get 413.
  size_t max_body_bytes = 1 << 20;
  size_t max_header_bytes = 16 << 10;
  /// Deadline for reading one HTTP request and writing its response.
  std::chrono::seconds request_timeout{30};
  /// Deadline for a request's line and headers (a slowloris client trickles
  /// them): 408 and close. Between two requests of a keep-alive connection
  /// it is the idle timeout, then the connection closes without a response.
  std::chrono::seconds header_timeout{10};
  /// Open TCP connections one remote address may hold; the next gets 429
  /// and is closed. 0: no limit.
  size_t max_conns_per_ip = 256;
  /// A WebSocket that receives nothing (no frame, no pong) for this long is
  /// closed with 1001; a backstop behind the actor's heartbeat. 0: never.
  std::chrono::seconds ws_idle_timeout{120};
  /// Origins (scheme://host[:port], or `*`) whose pages may open a
  /// WebSocket besides the server's own origin.
  std::vector<std::string> allowed_origins;
  /// How long a REST handler waits for an actor before answering 503.
  std::chrono::milliseconds actor_timeout{5000};
  /// Frames or bytes queued for one WebSocket peer before it counts as too
  /// slow and is closed (1008) instead of growing memory without bound.
  size_t max_queued_frames = 1024;
  size_t max_queued_bytes = 16 << 20;
  /// Time a close handshake may take before the socket is dropped.
  std::chrono::seconds close_timeout{5};
  /// Origins whose browsers may call the REST API (`*` for any); empty
  /// turns CORS off.
  std::vector<std::string> cors_origins;
  /// An idle SSE stream writes a comment this often.
  std::chrono::milliseconds sse_keep_alive{15000};
  /// The swagger-ui-dist package, served at /docs; empty: /docs says how to
  /// install it.
  std::string docs_dir;
  /// Where uploaded persona images are kept.
  std::string upload_dir = "data/uploads";
  size_t max_upload_bytes = 1 << 20;
  /// How long POST /api/chat/send waits for its answer.
  std::chrono::seconds chat_timeout{300};
};

/// The actors the transport talks to and the tunables it hands on to them.
struct server_deps {
  chat_registry_actor chats;
  resources_actor resources;
  /// Asked directly only for GET /ready.
  store_actor store;
  connection_registry_actor connections;
  /// API key management for admins (/api/keys).
  keys_actor keys;
  /// Who may call what (transport/access.hpp).
  access_policy access;
  server_options options;
  logger_ptr log;
};

class server {
 public:
  server(caf::actor_system& sys, server_config cfg, server_deps deps);
  /// Frees the sockets. Destroy the server after the actors that were handed
  /// frame sinks have ended (stop the actor system's long-lived actors
  /// first); if some have not, the I/O context is leaked rather than freed
  /// under them.
  ~server();

  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds, starts accepting and starts the I/O threads.
  std::error_code start();

  /// The bound address and port (the real one when configured with 0).
  std::string host() const;
  uint16_t port() const;

  /// Asks a running server to stop; callable from any thread, including a
  /// signal handler's completion.
  void request_stop();

  /// Blocks until SIGINT, SIGTERM or request_stop(), then stops: closes the
  /// acceptor, closes open WebSockets with 1001 (waiting up to
  /// close_timeout), stops the I/O context and joins its threads. Every
  /// session's actor has been sent `closed` when this returns.
  void run_until_stopped();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace parley
