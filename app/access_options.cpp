#include "app/access_options.hpp"

#include <fstream>
#include <iterator>
#include <stdexcept>

namespace parley {

namespace {

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::variant<std::string, std::string> read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return std::variant<std::string, std::string>{std::in_place_index<1>,
                                                  "cannot read " + path};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  // A secret file written by `echo` ends with a newline that is not part of
  // the secret.
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  return std::variant<std::string, std::string>{std::in_place_index<0>,
                                                std::move(text)};
}

} // namespace

void add_access_options(CLI::App& app, access_options& opts) {
  app
    .add_option("--auth", opts.auth,
                "on: every request needs an API key or a JWT; none: no "
                "authentication, everyone is the local admin (refused unless "
                "--listen is a loopback address)")
    ->check(CLI::IsMember({"on", "none"}))
    ->capture_default_str();
  app
    .add_option("--jwt-alg", opts.jwt_alg,
                "Signature algorithm bearer JWTs must use")
    ->check(CLI::IsMember({"HS256", "RS256", "ES256"}))
    ->capture_default_str();
  app.add_option("--jwt-secret-file", opts.jwt_secret_file,
                 "File holding the HS256 shared secret (enables JWTs)");
  app.add_option("--jwt-public-key", opts.jwt_public_key,
                 "PEM file with the RS256/ES256 public key (enables JWTs)");
  app.add_option("--jwt-issuer", opts.jwt_issuer,
                 "Required `iss` claim of JWTs");
  app.add_option("--jwt-audience", opts.jwt_audience,
                 "Required `aud` claim of JWTs");
  app
    .add_option("--rate-limit-rps", opts.rate_limit_rps,
                "HTTP requests per second per user; more get 429 with "
                "Retry-After (0: no limit)")
    ->check(CLI::Range(0.0, 1e6))
    ->capture_default_str();
  app
    .add_option("--rate-limit-burst", opts.rate_limit_burst,
                "Requests a user may make at once above the rate")
    ->check(CLI::Range(1.0, 1e6))
    ->capture_default_str();
  app
    .add_option("--chat-limit-per-min", opts.chat_limit_per_min,
                "Chat messages (new runs, WebSocket and REST) per minute per "
                "user; more are refused with rate_limited (0: no limit)")
    ->check(CLI::Range(0.0, 1e6))
    ->capture_default_str();
  app
    .add_option("--chat-limit-burst", opts.chat_limit_burst,
                "Chat messages a user may send at once above the rate")
    ->check(CLI::Range(1.0, 1e6))
    ->capture_default_str();
  app
    .add_option("--max-runs-per-user", opts.max_runs_per_user,
                "Runs one user may have queued or running at once; more are "
                "refused with too_many_runs (0: no limit)")
    ->capture_default_str();
  app
    .add_option("--keys-refresh-s", opts.keys_refresh_s,
                "How often the API keys are reloaded from the store (a key "
                "revoked elsewhere stops working within this)")
    ->check(CLI::Range(int64_t{1}, int64_t{3600}))
    ->capture_default_str();
}

std::variant<access_policy, std::string>
make_access_policy(const access_options& opts, const std::string& listen_host) {
  access_policy policy;
  if (opts.auth == "none") {
    if (!is_loopback(listen_host))
      return std::string{"--auth none serves everyone as the local admin: it "
                         "is only allowed with a loopback --listen address "
                         "(127.0.0.1, ::1, localhost), not "}
             + listen_host;
    policy.required = false;
  }
  if (!opts.jwt_secret_file.empty() && !opts.jwt_public_key.empty())
    return std::string{"give --jwt-secret-file or --jwt-public-key, not both"};
  auto key_file
    = opts.jwt_secret_file.empty() ? opts.jwt_public_key : opts.jwt_secret_file;
  if (!key_file.empty()) {
    bool hs = opts.jwt_alg == "HS256";
    if (hs != !opts.jwt_secret_file.empty())
      return "--jwt-alg " + opts.jwt_alg
             + (hs ? " needs --jwt-secret-file" : " needs --jwt-public-key");
    auto key = read_file(key_file);
    if (key.index() == 1)
      return std::get<1>(key);
    try {
      policy.jwt = std::make_shared<const jwt_verifier>(
        jwt_config{opts.jwt_alg, std::get<0>(std::move(key)), opts.jwt_issuer,
                   opts.jwt_audience});
    } catch (const std::invalid_argument& err) {
      return std::string{err.what()};
    }
  }
  if (opts.rate_limit_rps > 0)
    policy.requests = std::make_shared<rate_limiter>(opts.rate_limit_rps,
                                                     opts.rate_limit_burst);
  return policy;
}

void apply_run_limits(const access_options& opts, server_options& options) {
  options.max_runs_per_user = opts.max_runs_per_user;
  if (opts.chat_limit_per_min > 0)
    options.chat_messages = std::make_shared<rate_limiter>(
      opts.chat_limit_per_min / 60.0, opts.chat_limit_burst);
}

} // namespace parley
