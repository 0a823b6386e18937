#include "security/api_keys.hpp"

#include <array>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdexcept>

namespace parley {

namespace {

constexpr std::string_view prefix = "pk_";
constexpr size_t id_bytes = 8;
constexpr size_t secret_bytes = 32;

std::string to_hex(const unsigned char* data, size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 0xF];
  }
  return out;
}

std::string random_hex(size_t bytes) {
  std::array<unsigned char, 64> buf{};
  if (bytes > buf.size()
      || RAND_bytes(buf.data(), static_cast<int>(bytes)) != 1)
    throw std::runtime_error("the random source failed");
  return to_hex(buf.data(), bytes);
}

bool is_hex(std::string_view text) noexcept {
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

} // namespace

api_key_parts make_api_key() {
  return {random_hex(id_bytes), random_hex(secret_bytes)};
}

std::string format_api_key(const api_key_parts& key) {
  return std::string{prefix} + key.id + "_" + key.secret;
}

std::optional<api_key_parts> parse_api_key(std::string_view text) {
  if (text.size() != prefix.size() + id_bytes * 2 + 1 + secret_bytes * 2
      || text.substr(0, prefix.size()) != prefix)
    return std::nullopt;
  auto id = text.substr(prefix.size(), id_bytes * 2);
  auto secret = text.substr(prefix.size() + id_bytes * 2 + 1);
  if (text[prefix.size() + id_bytes * 2] != '_' || !is_hex(id)
      || !is_hex(secret))
    return std::nullopt;
  return api_key_parts{std::string{id}, std::string{secret}};
}

std::string hash_secret(std::string_view secret) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(secret.data(), secret.size(), digest, &size, EVP_sha256(),
                 nullptr)
      != 1)
    throw std::runtime_error("SHA-256 failed");
  return to_hex(digest, size);
}

bool same_hash(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size()
         && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace parley
