// Which pages may open a WebSocket here (cross-site WebSocket hijacking).
// Browsers send cookies and other ambient credentials with a WebSocket
// upgrade from any page and CORS does not apply to it, so the server itself
// must refuse an upgrade started by a page of a foreign origin. Pure: no
// socket, no Beast, so unit tests call it directly.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley {

/// What of an upgrade request the origin check reads.
struct upgrade_origin {
  /// The `Origin` header; nullopt when the request has none.
  std::optional<std::string_view> origin;
  /// The `Host` header (`host[:port]`); empty when missing.
  std::string_view host;
  /// Whether a `Sec-Fetch-Mode`, `Sec-Fetch-Site` or `Sec-Fetch-Dest`
  /// header is present, which only browsers send.
  bool browser_markers = false;
};

/// Nullopt when the upgrade may proceed, else why it is refused. Allowed:
/// no Origin and no browser markers (a CLI or server-to-server client); an
/// Origin of the same origin as the request (`http://` or `https://` plus
/// the Host header, default ports ignored); an Origin listed exactly (or `*`)
/// in `allowed`. Scheme and host compare case-insensitively.
std::optional<std::string>
refuse_upgrade_origin(const upgrade_origin& req,
                      const std::vector<std::string>& allowed);

/// Whether `pattern` can be an --allowed-origin: `*`, or `http://` or
/// `https://` and a host[:port] with no path (an origin never has one, so
/// `https://example.com/` would match nothing).
bool valid_origin_pattern(std::string_view pattern);

} // namespace parley
