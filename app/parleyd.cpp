// parleyd: wires storage, actors and transport together and runs until
// SIGINT/SIGTERM. The only place that knows every layer.
//
//   memory store <-- chat_registry <-- ws_session actors <-- transport
//                    connection_registry <-------------------'
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "actors/chat_registry.hpp"
#include "actors/connection_registry.hpp"
#include "actors/keys.hpp"
#include "actors/recovery.hpp"
#include "actors/resources.hpp"
#include "actors/system_config.hpp"
#include "storage/memory_store.hpp"
#include "storage/redis_store.hpp"
#include "transport/origin_check.hpp"
#include "transport/server.hpp"
#include "transport/url.hpp"

#include "app/access_options.hpp"
#include "app/keys_command.hpp"

namespace {

struct cli_options {
  std::string listen = "127.0.0.1:8080";
  size_t threads = 2;
  size_t actor_threads = 0;
  std::string log_level = "info";
  int64_t token_interval_ms = 20;
  size_t max_frame_bytes = 1 << 20;
  int64_t heartbeat_s = 30;
  std::string store = "memory";
  std::string redis_url = "redis://127.0.0.1:6379/0";
  std::string redis_prefix = "parley:";
  size_t redis_connections = 1;
  int64_t event_retention_h = 7 * 24;
  std::vector<std::string> cors_origins;
  std::string docs_dir = PARLEY_DEFAULT_DOCS_DIR;
  std::string upload_dir = "data/uploads";
  int64_t sse_keep_alive_s = 15;
  int64_t chat_timeout_s = 300;
  std::vector<std::string> allowed_origins;
  size_t max_conns_per_ip = 256;
  int64_t header_timeout_s = 10;
  int64_t ws_idle_timeout_s = 120;
  std::string node_id;
  size_t max_queued_frames = 1024;
  size_t max_queued_bytes = 16 << 20;
};

void add_options(CLI::App& app, cli_options& opts) {
  app
    .add_option("--listen", opts.listen,
                "HOST:PORT to serve on; port 0 picks a free one")
    ->capture_default_str();
  app.add_option("--threads", opts.threads, "I/O threads")
    ->check(CLI::Range(1, 64))
    ->capture_default_str();
  app
    .add_option("--actor-threads", opts.actor_threads,
                "Threads that run actors; 0: one per core")
    ->check(CLI::Range(0, 64))
    ->capture_default_str();
  app.add_option("--log-level", opts.log_level, "Log verbosity")
    ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
    ->capture_default_str();
  app
    .add_option("--token-interval-ms", opts.token_interval_ms,
                "Pause between two streamed steps of a run")
    ->check(CLI::Range(int64_t{0}, int64_t{60'000}))
    ->capture_default_str();
  app
    .add_option("--max-frame-bytes", opts.max_frame_bytes,
                "Largest WebSocket message accepted (bigger: close 1009)")
    ->check(CLI::Range(size_t{1024}, size_t{64} << 20))
    ->capture_default_str();
  app
    .add_option("--heartbeat-s", opts.heartbeat_s,
                "WebSocket ping period; a peer silent for two is closed")
    ->check(CLI::Range(int64_t{1}, int64_t{3600}))
    ->capture_default_str();
  app
    .add_option("--cors-origin", opts.cors_origins,
                "An origin whose browser pages may call the REST API (repeat "
                "for several; * for any); CORS is off without one")
    ->take_all();
  app
    .add_option("--docs-dir", opts.docs_dir,
                "The swagger-ui-dist package folder served at /docs")
    ->capture_default_str();
  app
    .add_option("--upload-dir", opts.upload_dir,
                "Where uploaded persona images are kept (made if missing)")
    ->capture_default_str();
  app
    .add_option("--sse-keepalive-s", opts.sse_keep_alive_s,
                "An idle SSE stream sends a comment this often")
    ->check(CLI::Range(int64_t{1}, int64_t{3600}))
    ->capture_default_str();
  app
    .add_option("--chat-timeout-s", opts.chat_timeout_s,
                "How long POST /api/chat/send waits for its answer")
    ->check(CLI::Range(int64_t{1}, int64_t{86400}))
    ->capture_default_str();
  app
    .add_option("--store", opts.store,
                "Where resources, runs and event logs are kept: memory (gone "
                "at exit) or redis")
    ->check(CLI::IsMember({"memory", "redis"}))
    ->capture_default_str();
  app
    .add_option("--redis-url", opts.redis_url,
                "The Redis server of --store redis: redis://HOST[:PORT][/DB]")
    ->envname("PARLEY_REDIS_URL")
    ->capture_default_str();
  app
    .add_option("--redis-prefix", opts.redis_prefix,
                "Prefix of every Redis key, so deployments can share a Redis")
    ->capture_default_str();
  app.add_option("--node-id", opts.node_id,
                 "This node's name among nodes sharing one Redis (give each "
                 "its own): at start-up it ends only the runs it left in "
                 "flight as interrupted");
  app
    .add_option("--event-retention-h", opts.event_retention_h,
                "How long Redis keeps a finished run's event log (its "
                "record and messages stay)")
    ->check(CLI::Range(int64_t{1}, int64_t{24 * 3650}))
    ->capture_default_str();
  app
    .add_option("--redis-connections", opts.redis_connections,
                "Redis connections (one thread each); 1 keeps every write in "
                "the order it was made")
    ->check(CLI::Range(size_t{1}, size_t{64}))
    ->capture_default_str();
}

/// The transport's defences against abusive clients (docs/limits.md).
void add_limit_options(CLI::App& app, cli_options& opts) {
  app
    .add_option("--allowed-origin", opts.allowed_origins,
                "An origin (scheme://host[:port], or * for any) whose pages "
                "may open a WebSocket besides the server's own (repeat for "
                "several)")
    ->take_all()
    ->check(CLI::Validator(
      [](std::string& x) {
        return parley::valid_origin_pattern(x)
                 ? std::string{}
                 : "expected * or http(s)://HOST[:PORT] without a path, got '"
                     + x + "'";
      },
      "ORIGIN"));
  app
    .add_option("--max-conns-per-ip", opts.max_conns_per_ip,
                "Open TCP connections one client address may hold; the next "
                "gets 429 (0: no limit)")
    ->check(CLI::Range(size_t{0}, size_t{1} << 20))
    ->capture_default_str();
  app
    .add_option("--header-timeout-s", opts.header_timeout_s,
                "Deadline for a request's headers (then 408), and for an idle "
                "keep-alive connection")
    ->check(CLI::Range(int64_t{1}, int64_t{3600}))
    ->capture_default_str();
  app
    .add_option("--max-queued-frames", opts.max_queued_frames,
                "Frames waiting for one slow WebSocket reader before it is "
                "closed with 1008 (others are not slowed)")
    ->check(CLI::Range(size_t{1}, size_t{1} << 20))
    ->capture_default_str();
  app
    .add_option("--max-queued-bytes", opts.max_queued_bytes,
                "Bytes waiting for one slow WebSocket reader before it is "
                "closed with 1008")
    ->check(CLI::Range(size_t{1024}, size_t{1} << 32))
    ->capture_default_str();
  app
    .add_option("--ws-idle-timeout-s", opts.ws_idle_timeout_s,
                "A WebSocket that sends nothing, not even a pong, for this "
                "long is closed with 1001 (0: never)")
    ->check(CLI::Range(int64_t{0}, int64_t{86400}))
    ->capture_default_str();
}

parley::logger_ptr make_logger(const std::string& level) {
  // Owned here and handed to every layer; spdlog's global registry and
  // default logger stay untouched.
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto log = std::make_shared<spdlog::logger>("parleyd", std::move(sink));
  log->set_level(spdlog::level::from_str(level));
  log->flush_on(spdlog::level::warn);
  return log;
}

parley::server_options actor_options(const cli_options& opts) {
  parley::server_options options;
  options.token_interval = std::chrono::milliseconds(opts.token_interval_ms);
  options.heartbeat = std::chrono::seconds(opts.heartbeat_s);
  options.node_id = opts.node_id;
  return options;
}

parley::server_config transport_config(const cli_options& opts,
                                       const parley::host_port& listen) {
  parley::server_config cfg;
  cfg.host = listen.host;
  cfg.port = listen.port;
  cfg.threads = opts.threads;
  cfg.max_frame_bytes = opts.max_frame_bytes;
  cfg.cors_origins = opts.cors_origins;
  std::error_code ec;
  if (!opts.docs_dir.empty()
      && std::filesystem::exists(opts.docs_dir + "/swagger-ui-bundle.js", ec))
    cfg.docs_dir = opts.docs_dir;
  cfg.upload_dir = opts.upload_dir;
  cfg.sse_keep_alive = std::chrono::seconds(opts.sse_keep_alive_s);
  cfg.chat_timeout = std::chrono::seconds(opts.chat_timeout_s);
  cfg.allowed_origins = opts.allowed_origins;
  cfg.max_conns_per_ip = opts.max_conns_per_ip;
  cfg.header_timeout = std::chrono::seconds(opts.header_timeout_s);
  cfg.ws_idle_timeout = std::chrono::seconds(opts.ws_idle_timeout_s);
  cfg.max_queued_frames = opts.max_queued_frames;
  cfg.max_queued_bytes = opts.max_queued_bytes;
  return cfg;
}

/// The store --store names, or a null handle after saying why not.
parley::store_actor make_store(caf::actor_system& sys, const cli_options& opts,
                               const parley::logger_ptr& log) {
  if (opts.store == "memory")
    return parley::spawn_memory_store(sys);
  auto cfg = parley::parse_redis_url(opts.redis_url);
  if (!cfg) {
    std::cerr << "--redis-url: expected redis://HOST[:PORT][/DB], got '"
              << opts.redis_url << "'\n";
    return {};
  }
  cfg->prefix = opts.redis_prefix;
  cfg->connections = opts.redis_connections;
  cfg->event_retention = std::chrono::hours(opts.event_retention_h);
  cfg->log = log;
  log->info("store: redis at {}:{} db {} prefix '{}'", cfg->host, cfg->port,
            cfg->db, cfg->prefix);
  return parley::spawn_redis_store(sys, std::move(*cfg));
}

/// Waits until at most `left` actors run, or `timeout` passed. Bounded, so
/// a run still streaming cannot keep the process alive.
bool await_running(caf::actor_system& sys, size_t left,
                   std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (sys.registry().running() > left) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

/// Waits (bounded by the store timeout) until the keys actor has loaded the
/// keys once: a node that served before that would refuse valid keys for
/// its first moments, e.g. on every node of a rolling restart.
void wait_for_keys(caf::actor_system& sys, const parley::keys_actor& keys,
                   const parley::server_options& options, spdlog::logger& log) {
  caf::scoped_actor self{sys};
  self
    ->request(keys, options.store_timeout + std::chrono::seconds(1),
              parley::health_atom::value)
    .receive([](caf::ok_atom) {},
             [&](const caf::error& err) {
               log.warn("api keys: not loaded before serving ({})",
                        sys.render(err));
             });
}

/// Stops the actors front to back: the registries (and what they started)
/// first, so the sessions can still write their last events, then the store.
void stop_actors(caf::actor_system& sys, const parley::logger_ptr& log,
                 const parley::connection_registry_actor& connections,
                 const parley::chat_registry_actor& chats,
                 const parley::resources_actor& resources,
                 const parley::keys_actor& keys,
                 const parley::store_actor& store, size_t store_actors) {
  caf::anon_send_exit(keys, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(connections, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(chats, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(resources, caf::exit_reason::user_shutdown);
  await_running(sys, store_actors, std::chrono::seconds(2));
  caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
  if (!await_running(sys, 0, std::chrono::seconds(3))) {
    log->warn("{} actors still running at exit; not waiting for them",
              sys.registry().running());
    sys.await_actors_before_shutdown(false);
  }
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"parleyd: the Parley chat and agent server"};
  cli_options opts;
  add_options(app, opts);
  add_limit_options(app, opts);
  parley::access_options access;
  parley::add_access_options(app, access);
  parley::keys_command keys_cmd;
  parley::add_keys_command(app, keys_cmd);
  CLI11_PARSE(app, argc, argv);

  auto listen = parley::parse_host_port(opts.listen);
  if (!listen) {
    std::cerr << "--listen: expected HOST:PORT or [V6HOST]:PORT, got '"
              << opts.listen << "'\n";
    return 2;
  }
  auto log = make_logger(opts.log_level);
  auto options = actor_options(opts);
  parley::apply_run_limits(access, options);
  auto policy = parley::make_access_policy(access, listen->host);
  if (auto why = std::get_if<std::string>(&policy)) {
    std::cerr << "parleyd: " << *why << '\n';
    return 2;
  }
  if (opts.ws_idle_timeout_s > 0 && opts.ws_idle_timeout_s <= opts.heartbeat_s)
    log->warn("--ws-idle-timeout-s {} is not above --heartbeat-s {}: a quiet "
              "client that answers every ping will still be closed as idle",
              opts.ws_idle_timeout_s, opts.heartbeat_s);

  parley::parley_config cfg;
  parley::set_actor_threads(cfg, opts.actor_threads);
  caf::actor_system sys{cfg};
  auto store = make_store(sys, opts, log);
  if (!store)
    return 2;
  if (*keys_cmd.keys) {
    if (opts.store != "redis") {
      std::cerr << "parleyd keys: keys live in the store the servers share: "
                   "give --store redis (and --redis-url)\n";
      return 2;
    }
    auto rc = parley::run_keys_command(keys_cmd, sys, store, options, log);
    caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
    return rc;
  }
  // The store's own actors: a Redis store is a front and its workers.
  size_t store_actors = opts.store == "redis" ? 1 + opts.redis_connections : 1;
  // Runs the last process left in flight end as interrupted.
  parley::spawn_run_recovery(sys, store, options, log);
  auto chats = parley::spawn_chat_registry(
    sys, parley::chat_session_deps{store, options, log});
  auto connections = parley::spawn_connection_registry(sys);
  auto resources = parley::spawn_resources(sys, store, options);
  auto& access_policy = std::get<parley::access_policy>(policy);
  auto keys = parley::spawn_keys(sys, store, access_policy.keys,
                                 std::chrono::seconds(access.keys_refresh_s),
                                 options, log);
  if (!access_policy.required)
    log->warn("--auth none: every request is served as the local admin");
  else
    wait_for_keys(sys, keys, options, *log);
  std::error_code dir_error;
  std::filesystem::create_directories(opts.upload_dir, dir_error);
  if (dir_error)
    log->warn("cannot make the upload folder {}: {}", opts.upload_dir,
              dir_error.message());
  parley::server srv{sys, transport_config(opts, *listen),
                     parley::server_deps{chats, resources, store, connections,
                                         keys, access_policy, options, log}};
  if (auto ec = srv.start()) {
    log->error("cannot listen on {}: {}", opts.listen, ec.message());
    stop_actors(sys, log, connections, chats, resources, keys, store,
                store_actors);
    return 1;
  }
  auto host = srv.host();
  if (host.find(':') != std::string::npos)
    host = "[" + host + "]";
  // Integration tests wait for this exact line to learn the port.
  std::cout << "parleyd listening on http://" << host << ':' << srv.port()
            << std::endl;
  srv.run_until_stopped();
  log->info("stopped serving; stopping actors");
  // The server (and its sockets) goes after the actors holding its sinks.
  stop_actors(sys, log, connections, chats, resources, keys, store,
              store_actors);
  log->flush();
  return 0;
}
