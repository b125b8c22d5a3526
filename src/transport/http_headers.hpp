#pragma once
// Parsing of the request headers the transport decides on: Content-Type, Accept, Host and Origin.
// Pure functions over strings, so the fuzz target and unit tests drive the same code.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace graceway::http {

// ASCII case-insensitive equality (header names, media types).
[[nodiscard]] bool iequals(std::string_view a, std::string_view b);
// Without leading and trailing spaces and tabs (optional whitespace, RFC 9110 section 5.6.3).
[[nodiscard]] std::string_view trim(std::string_view s);

// A query-string component with %XX escapes and '+' decoded; nullopt for a malformed escape.
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view s);
// Percent-encodes every byte but RFC 3986's unreserved characters (a query value, a form field).
[[nodiscard]] std::string percent_encode(std::string_view value);
// The decoded value of the first parameter called `name` in a raw query string ("a=1&b=2");
// nullopt when absent or malformed.
[[nodiscard]] std::optional<std::string> query_param(std::string_view query, std::string_view name);

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
// A non-empty `allowed` list replaces the default: "*" allows any origin, other entries match
// exactly (case-insensitive). With an empty list, a server bound to loopback allows http(s)
// origins on localhost, 127.0.0.1 or [::1] (any port) and any other server allows none.
[[nodiscard]] bool origin_allowed(std::string_view origin, const std::vector<std::string>& allowed,
                                  bool loopback_bound);

// Host check (DNS-rebinding defence: a rebound name reaches us with the attacker's Host).
// `host` is the Host header, nullopt when absent. A non-empty `allowed` list replaces the
// default: "*" allows any Host; an entry without a port ("example.com", "[::1]") allows that name
// with any port; an entry with a port ("example.com:8443") allows exactly that. Names compare
// case-insensitively. With an empty list, a server bound to loopback allows localhost,
// 127.0.0.1, [::1] and its own --host address, each with any port; any other server allows any
// Host. An absent or empty Host is allowed only when any Host is (HTTP/1.1 clients always send
// one, RFC 9112 section 3.2; the Python SDK refuses a missing Host the same way).
[[nodiscard]] bool host_allowed(std::optional<std::string_view> host, const std::vector<std::string>& allowed,
                                bool loopback_bound, std::string_view bound_host = {});

}  // namespace graceway::http
