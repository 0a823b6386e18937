// `parleyd keys create|list|revoke`: API key management from a shell, against
// the same store (Redis) the servers use; they pick changes up within
// --keys-refresh-s.
#pragma once

#include <string>

#include <CLI/CLI.hpp>
#include <caf/fwd.hpp>

#include "actors/interfaces.hpp"
#include "actors/options.hpp"

namespace parley {

struct keys_command {
  CLI::App* keys = nullptr;
  CLI::App* create = nullptr;
  CLI::App* list = nullptr;
  CLI::App* revoke = nullptr;
  std::string user;
  bool admin = false;
  std::string key_id;
};

void add_keys_command(CLI::App& app, keys_command& cmd);

/// Runs the parsed subcommand against `store`; the process exit code.
int run_keys_command(const keys_command& cmd, caf::actor_system& sys,
                     store_actor store, server_options options, logger_ptr log);

} // namespace parley
