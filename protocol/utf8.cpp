#include "protocol/utf8.hpp"

#include <cstdint>

namespace parley {

bool is_valid_utf8(std::string_view text) noexcept {
  auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  auto continuation
    = [&](size_t i) { return i < text.size() && (byte(i) & 0xC0) == 0x80; };
  size_t i = 0;
  while (i < text.size()) {
    auto lead = byte(i);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((lead & 0xE0) == 0xC0) {
      len = 2;
      cp = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      len = 3;
      cp = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      len = 4;
      cp = lead & 0x07;
    } else {
      return false;
    }
    for (size_t k = 1; k < len; ++k) {
      if (!continuation(i + k))
        return false;
      cp = (cp << 6) | (byte(i + k) & 0x3F);
    }
    static constexpr uint32_t min_of_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_of_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

} // namespace parley
