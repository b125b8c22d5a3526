#pragma once
// Gateway mode: graceway in front of an MCP server that speaks Streamable HTTP. Every graceway
// session gets an upstream session of its own; the client's DELETE is absorbed and sent upstream
// only once the session's requests have ended (docs/gateway.md). Set Server::Options::upstream to
// serve an upstream server instead of the built-in catalog.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace graceway {

struct UpstreamGatewayOptions {
  // The upstream MCP endpoint, http://HOST[:PORT]/PATH (HOST may be a name, an IPv4 address or a
  // bracketed IPv6 address).
  std::string url;
  // "Name: value" headers sent with every upstream request (an API key, for instance). Nothing of
  // the client's own request is forwarded but its JSON-RPC messages.
  std::vector<std::string> headers;
  // Resolving and connecting, and then each read: an upstream that sends no byte for this long
  // (SSE comments count) has failed the request. Standalone GET streams are exempt from the idle
  // limit: they may rightly be silent for hours.
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds idle_timeout{300000};
  // The upstream DELETE sent when a session has closed: its answer is awaited this long.
  std::chrono::milliseconds delete_timeout{2000};
  // Largest upstream JSON body or SSE event graceway takes; a larger one fails its request.
  std::size_t max_message_bytes = std::size_t{4} << 20U;
  // /readyz answers 503 after this many failed upstream contacts in a row (cannot connect, 5xx,
  // an initialize refused).
  int unready_after_failures = 3;
};

// Problems with the options, one line each, naming the flag; empty when they are usable.
[[nodiscard]] std::vector<std::string> validate(const UpstreamGatewayOptions& options);

}  // namespace graceway
