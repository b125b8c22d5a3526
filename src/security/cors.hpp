#pragma once
// CORS for browser MCP clients (the MCP Inspector, web apps): what a preflight is answered and
// what every answer to an allowed Origin carries, errors included, so a browser script can read
// Mcp-Session-Id, the 401 challenge and Retry-After. Which origins are allowed is the Origin
// check's list (--allowed-origins): one list drives both, and CORS is not the DNS-rebinding
// defence, the Host and Origin checks are. No credentials mode: graceway takes bearer headers,
// never cookies.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace graceway::security {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// A 204 preflight answer's headers. `requested`: Access-Control-Request-Headers, reflected when
// it is a well-formed list (so Mcp-Param-* and future MCP headers pass), else the fixed MCP list.
// `any_origin`: the metadata documents, readable from anywhere ("*").
[[nodiscard]] HeaderList preflight_headers(std::string_view origin, std::string_view requested,
                                           std::string_view methods, bool any_origin);
// The headers of any other answer to an allowed Origin.
[[nodiscard]] HeaderList response_headers(std::string_view origin, bool any_origin);

}  // namespace graceway::security
