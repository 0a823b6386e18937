// parleyd's authentication and per-user limit flags (docs/security.md), and
// the access policy they make.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include <CLI/CLI.hpp>

#include "actors/options.hpp"
#include "transport/access_policy.hpp"

namespace parley {

struct access_options {
  std::string auth = "on";
  std::string jwt_alg = "HS256";
  std::string jwt_secret_file;
  std::string jwt_public_key;
  std::string jwt_issuer;
  std::string jwt_audience;
  double rate_limit_rps = 50;
  double rate_limit_burst = 100;
  double chat_limit_per_min = 60;
  double chat_limit_burst = 20;
  size_t max_runs_per_user = 8;
  int64_t keys_refresh_s = 2;
};

void add_access_options(CLI::App& app, access_options& opts);

/// The policy the flags describe, or why they do not make one (e.g.
/// --auth none on a non-loopback address, an unreadable key file).
/// `listen_host` is the address the server binds.
std::variant<access_policy, std::string>
make_access_policy(const access_options& opts, const std::string& listen_host);

/// The per-user limits the actors enforce (runs in flight, chat messages).
void apply_run_limits(const access_options& opts, server_options& options);

} // namespace parley
