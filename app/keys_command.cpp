#include "app/keys_command.hpp"

#include <iostream>

#include <caf/all.hpp>

#include "actors/keys.hpp"
#include "protocol/ids.hpp"

namespace parley {

namespace {

constexpr auto cli_timeout = std::chrono::seconds(10);

int failed(caf::actor_system& sys, const caf::error& err) {
  std::cerr << "parleyd keys: " << error_message(err) << '\n';
  return 1;
}

} // namespace

void add_keys_command(CLI::App& app, keys_command& cmd) {
  cmd.keys = app.add_subcommand("keys", "Make, list or revoke API keys (in "
                                        "the Redis store; give --store redis "
                                        "and --redis-url as for the server)");
  cmd.keys->require_subcommand(1);
  cmd.create = cmd.keys->add_subcommand(
    "create", "Make a key and print it (the only time it is shown)");
  cmd.create->add_option("--user", cmd.user, "Who the key authenticates as")
    ->required();
  cmd.create->add_flag("--admin", cmd.admin,
                       "Also allow key management, /connections, /broadcast");
  cmd.list = cmd.keys->add_subcommand("list", "List the keys (not secrets)");
  cmd.revoke = cmd.keys->add_subcommand("revoke", "Revoke a key by its id");
  cmd.revoke->add_option("key_id", cmd.key_id, "The key's id (16 hex digits)")
    ->required();
}

int run_keys_command(const keys_command& cmd, caf::actor_system& sys,
                     store_actor store, server_options options,
                     logger_ptr log) {
  auto keys = spawn_keys(sys, std::move(store), std::make_shared<key_ring>(),
                         std::chrono::milliseconds{0}, std::move(options),
                         std::move(log));
  caf::scoped_actor self{sys};
  int rc = 0;
  if (*cmd.create) {
    self->request(keys, cli_timeout, create_atom::value, cmd.user, cmd.admin)
      .receive(
        [&](const api_key_info& key) {
          std::cerr << "made key " << key.id << " for " << key.user
                    << (key.admin ? " (admin)" : "")
                    << "; it is shown only now:\n";
          std::cout << key.key << std::endl;
        },
        [&](const caf::error& err) { rc = failed(sys, err); });
  } else if (*cmd.list) {
    self->request(keys, cli_timeout, list_atom::value)
      .receive(
        [&](const std::vector<api_key_info>& all) {
          for (auto& key : all)
            std::cout << key.id << '\t' << key.user << '\t'
                      << (key.admin ? "admin" : "user") << '\t'
                      << to_iso8601(key.created_at_ms) << '\n';
        },
        [&](const caf::error& err) { rc = failed(sys, err); });
  } else if (*cmd.revoke) {
    self->request(keys, cli_timeout, res_del_atom::value, cmd.key_id)
      .receive(
        [&](caf::ok_atom) { std::cerr << "revoked " << cmd.key_id << '\n'; },
        [&](const caf::error& err) { rc = failed(sys, err); });
  }
  self->send_exit(keys, caf::exit_reason::user_shutdown);
  return rc;
}

} // namespace parley
