#pragma once
// The one table from graceway::errc to the wire: HTTP status, JSON-RPC code and message.
// Every error that crosses the HTTP boundary is built here.

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "graceway/errc.hpp"
#include "graceway/jsonrpc.hpp"

namespace graceway {

struct ErrorMapping {
  int http_status;       // when the error is the whole answer to an HTTP request
  int jsonrpc_code;
  std::string_view message;
};

// JSON-RPC codes used beyond the standard five. -32000..-32019 are implementation-defined in
// the legacy eras; the SDKs use -32000 (generic) and -32001 (session not found) the same way.
inline constexpr int kServerError = -32000;
inline constexpr int kSessionNotFound = -32001;
inline constexpr int kResourceNotFound = -32002;  // MCP: resources/read of an unknown URI (before 2026-07-28)
// Reserved by 2026-07-28 (-32020..-32099 belong to the spec there).
inline constexpr int kHeaderMismatch = -32020;
inline constexpr int kMissingClientCapability = -32021;
inline constexpr int kUnsupportedProtocolVersion = -32022;

[[nodiscard]] const ErrorMapping& mapping_of(errc e) noexcept;

// The HTTP status of a stateless (2026-07-28) request's answer found while its handler ran:
// 200 for a result and for errors about the request's content (unknown tool, bad arguments),
// 404 for -32601 and 400 for the codes 2026-07-28 gives a status of their own (-32020, -32021,
// -32022), as the official SDKs answer them.
[[nodiscard]] int modern_status_of(const nlohmann::json& response);

// {"jsonrpc":"2.0","id":...,"error":{"code","message"[,"data"]}}; `detail` is appended to the
// table's message after ": ".
[[nodiscard]] nlohmann::json error_response(errc e, const std::optional<jsonrpc::RequestId>& id,
                                            std::string_view detail = {},
                                            const nlohmann::json& data = nullptr);

}  // namespace graceway
