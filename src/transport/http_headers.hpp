#pragma once
// Parsing of the request headers the transport decides on: Content-Type, Accept and Origin.
// Pure functions over strings, so the fuzz target and unit tests drive the same code.

#include <string>
#include <string_view>
#include <vector>

namespace graceway::http {

// True when `content_type` is application/json, with or without parameters (charset=...).
[[nodiscard]] bool is_json_content_type(std::string_view content_type);

struct Acceptable {
  bool json = false;
  bool sse = false;
};
// What an Accept header allows. An absent (empty) header allows both; wildcards count;
// q=0 excludes.
[[nodiscard]] Acceptable parse_accept(std::string_view accept);

// True when `host` (as given to --host) is a loopback address or "localhost".
[[nodiscard]] bool is_loopback_host(std::string_view host);

// Origin check (DNS-rebinding defence). An absent Origin is allowed (native clients send none).
// "*" in `allowed` allows any origin; otherwise exact matches (case-insensitive) and, when the
// server is bound to loopback, any http(s) origin on localhost, 127.0.0.1 or [::1].
[[nodiscard]] bool origin_allowed(std::string_view origin, const std::vector<std::string>& allowed,
                                  bool loopback_bound);

}  // namespace graceway::http
