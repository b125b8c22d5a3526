#pragma once
// The front checks of a modern-era (2026-07-28) request: the per-request _meta envelope, and the
// HTTP headers that mirror the body (MCP-Protocol-Version, Mcp-Method, Mcp-Name, Mcp-Param-*) so
// intermediaries can route without reading it. A server that reads the body must refuse any
// disagreement, or a proxy's policy and the server's action would be about different requests.
// Pure functions over values: no I/O, never throw on client input. Internal (src/ only).
//
// The ladder check_front applies, first failure wins (docs/spec-rules.md, "Protocol eras"):
//   1. envelope: params._meta with protocolVersion (string) and clientCapabilities (object),
//      logLevel valid when present                                  -> invalid_meta (-32602)
//   2. no routing header sent twice; MCP-Protocol-Version present and equal to the body's
//                                                                    -> header_mismatch (-32020)
//   3. the version is served                                         -> unsupported_modern_version (-32022)
//   4. Mcp-Method present and equal to the method                    -> header_mismatch
//   5. Mcp-Name present, decodable and equal to params.name (tools/call, prompts/get) or
//      params.uri (resources/read)                                   -> header_mismatch
// Rung 2 before rung 3 so that a supported header over an unknown body version is a mismatch,
// while a header and body that agree on an unknown version learn what is supported.
// Mcp-Param-* needs the tool's input schema, so it is checked later (check_param_headers), once
// the tool is known and its arguments are.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "graceway/errc.hpp"
#include "graceway/jsonrpc.hpp"
#include "graceway/log_level.hpp"

namespace graceway::mcp::modern {

// Keys of the per-request (params._meta) and per-result (result._meta) protocol fields.
inline constexpr std::string_view kMetaProtocolVersion = "io.modelcontextprotocol/protocolVersion";
inline constexpr std::string_view kMetaClientCapabilities = "io.modelcontextprotocol/clientCapabilities";
inline constexpr std::string_view kMetaClientInfo = "io.modelcontextprotocol/clientInfo";
inline constexpr std::string_view kMetaLogLevel = "io.modelcontextprotocol/logLevel";
inline constexpr std::string_view kMetaServerInfo = "io.modelcontextprotocol/serverInfo";
inline constexpr std::string_view kMetaSubscriptionId = "io.modelcontextprotocol/subscriptionId";

// The routing headers, as the spec spells them (names compare case-insensitively).
inline constexpr std::string_view kHeaderProtocolVersion = "MCP-Protocol-Version";
inline constexpr std::string_view kHeaderMethod = "Mcp-Method";
inline constexpr std::string_view kHeaderName = "Mcp-Name";
inline constexpr std::string_view kHeaderParamPrefix = "Mcp-Param-";
// The schema keyword that mirrors a tool argument into an Mcp-Param-<Name> header.
inline constexpr std::string_view kSchemaHeaderKeyword = "x-mcp-header";

// The markers around a Base64 header value. A client encodes a value that is not plain visible
// ASCII (or that looks like this form itself), so the server decodes whenever both are present.
inline constexpr std::string_view kBase64Prefix = "=?base64?";
inline constexpr std::string_view kBase64Suffix = "?=";

// True when the body claims the modern era: params._meta holds the protocolVersion key, whatever
// its value (a claim with a bad value is then refused as a modern request, not served as legacy).
[[nodiscard]] bool claims_modern(const jsonrpc::Message& m);

// The value of Mcp-Name or an Mcp-Param-* header: optional whitespace (SP, HTAB) around it
// removed, then a `=?base64?...?=` value decoded (canonical padded standard Base64 of UTF-8).
// A value with only one of the markers is taken literally. nullopt for a literal with control
// characters or bytes outside ASCII (a client must encode those), and for a malformed encoding.
[[nodiscard]] std::optional<std::string> decode_header_value(std::string_view raw);
// Why decode_header_value refuses `raw`, for an operator's eyes; empty when it does not.
[[nodiscard]] std::string header_value_problem(std::string_view raw);
// The header form of `value`: as-is when it is plain visible ASCII without surrounding spaces
// and does not look encoded, else `=?base64?...?=` (what a client, or a gateway calling a modern
// upstream, sends).
[[nodiscard]] std::string encode_header_value(std::string_view value);

// What the envelope of a valid modern request says.
struct Envelope {
  std::string version;
  nlohmann::json client_capabilities;  // an object ({} when the client declares none)
  nlohmann::json client_info;          // an object, or null when absent or not an object
  std::optional<LogLevel> log_level;   // the threshold for this request's notifications/message
};

// A refusal: the errc (status and JSON-RPC code via error_mapping), the message for the client
// and the log, and error.data (null when none).
struct Problem {
  errc code;
  std::string detail;
  nlohmann::json data;
};

// The routing headers of one request, as the HTTP layer read them (views into its buffers).
struct RoutingHeaders {
  std::optional<std::string_view> protocol_version, method, name;
  // MCP-Protocol-Version, Mcp-Method or Mcp-Name came more than once: readers taking the first
  // copy and readers taking the last would disagree about the request.
  bool repeated = false;
  // Every Mcp-Param-<Name> header, in arrival order, repeats included: {<Name> as sent, value}.
  std::vector<std::pair<std::string_view, std::string_view>> params;
};

struct FrontResult {
  std::optional<Problem> problem;  // nullopt: serve the request
  Envelope envelope;               // filled once the envelope rung passed, even when a later one failed
  // MCP-Protocol-Version named a legacy version over a served modern body and the caller asked
  // to let that through (clients known to send the wrong header); worth a log line.
  bool tolerated_legacy_header = false;
};

// The ladder above, for a request (or notification) that claims_modern. `served_versions`: the
// modern versions this server serves (listed in -32022's data.supported). With
// `tolerate_legacy_header`, an MCP-Protocol-Version naming one of `legacy_versions` passes rung 2
// when the body names a served version; otherwise the header must equal the body.
[[nodiscard]] FrontResult check_front(const jsonrpc::Message& request, const RoutingHeaders& headers,
                                      std::span<const std::string_view> served_versions, bool tolerate_legacy_header,
                                      std::span<const std::string_view> legacy_versions);

// The Mcp-Param-* rung of a tools/call, against the called tool's input schema. For each property
// annotated with x-mcp-header (reachable through "properties" alone): an argument present and not
// null needs exactly one Mcp-Param-<Name> header (name case-insensitive) whose decoded value
// equals the argument (strings as-is, integers numerically so "42.0" matches 42, booleans
// "true"/"false"). An argument null or absent needs no header, and one sent anyway is refused:
// conforming clients omit it then, and a header stating a value the body does not carry is the
// disagreement this rung exists to catch. Mcp-Param-* headers no annotation names are ignored.
[[nodiscard]] std::optional<Problem> check_param_headers(const nlohmann::json& input_schema,
                                                         const nlohmann::json& arguments,
                                                         const RoutingHeaders& headers);

// Why a tool's x-mcp-header annotations are unusable, one sentence each; empty when they are fine.
// Conforming clients drop a tool with a bad annotation from tools/list, so the server refuses to
// register one: a name that is not an RFC 9110 token, two names equal ignoring case, an annotation
// on a property that is not a string, integer or boolean, or one not reachable from the root
// through "properties" alone (under items, oneOf, $ref, ...).
[[nodiscard]] std::vector<std::string> header_annotations_problems(const nlohmann::json& input_schema);

}  // namespace graceway::mcp::modern
