#include "protocol/ids.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>

namespace parley {

namespace {

/// splitmix64: spreads one seed over the four words of xoshiro's state, as
/// its authors advise (a state of zeros would stay zero).
uint64_t splitmix64(uint64_t& x) noexcept {
  uint64_t z = (x += 0x9e3779b97f4a7c15);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) noexcept {
  return (x << k) | (x >> (64 - k));
}

} // namespace

id_generator::id_generator(uint64_t seed) noexcept {
  for (auto& word : state_)
    word = splitmix64(seed);
}

id_generator::id_generator() {
  // Two 32-bit draws: one random_device value is little entropy for 64 bits.
  std::random_device rd;
  *this = id_generator{(uint64_t{rd()} << 32) ^ rd()};
}

uint64_t id_generator::operator()() noexcept {
  auto& s = state_;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

std::string make_uuid(id_generator& rng) {
  static constexpr char hex[] = "0123456789abcdef";
  uint64_t hi = rng();
  uint64_t lo = rng();
  hi = (hi & ~uint64_t{0xF000}) | uint64_t{0x4000};           // version 4
  lo = (lo & ~(uint64_t{0xC} << 60)) | (uint64_t{0x8} << 60); // variant 10
  std::string out;
  out.reserve(36);
  auto put = [&](uint64_t word, int from_nibble, int to_nibble) {
    for (int i = from_nibble; i < to_nibble; ++i)
      out += hex[(word >> (60 - 4 * i)) & 0xF];
  };
  put(hi, 0, 8);
  out += '-';
  put(hi, 8, 12);
  out += '-';
  put(hi, 12, 16);
  out += '-';
  put(lo, 0, 4);
  out += '-';
  put(lo, 4, 16);
  return out;
}

bool is_uuid(std::string_view text) noexcept {
  if (text.size() != 36)
    return false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool dash_pos = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_pos ? c != '-'
                 : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
                     || (c >= 'A' && c <= 'F')))
      return false;
  }
  return true;
}

int64_t unix_time_ms() noexcept {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

int64_t unix_time_us() noexcept {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch())
    .count();
}

std::string to_iso8601(int64_t ms) {
  // Floor division, so times before 1970 keep a milliseconds field in 0..999.
  int64_t secs = ms / 1000;
  int64_t millis = ms % 1000;
  if (millis < 0) {
    secs -= 1;
    millis += 1000;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm utc{};
  gmtime_r(&t, &utc);
  // Sized for the widest int fields, so the output is never truncated.
  char buf[80];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour,
                utc.tm_min, utc.tm_sec, static_cast<int>(millis));
  return buf;
}

} // namespace parley
