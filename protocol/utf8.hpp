// Strict UTF-8 validation (RFC 3629): no overlong forms, no surrogates, no
// code points past U+10FFFF. WebSocket peers fail the connection (1007) on a
// text frame that is not valid UTF-8, so nothing invalid may reach one --
// and JSON escapes such as a lone "\udc00" decode to exactly such bytes.
#pragma once

#include <string_view>

namespace parley {

bool is_valid_utf8(std::string_view text) noexcept;

} // namespace parley
