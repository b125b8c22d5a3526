#pragma once
// Clients for integration tests, over real loopback sockets.
//   McpClient    request/response exchanges through cpp-httplib's client.
//   StreamClient a raw socket that reads a streamed response event by event and can drop the
//                connection at any moment (the "client leaves mid-stream" move).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "replay/http_exchange.hpp"

namespace graceway::test {

using json = nlohmann::json;
using HeaderList = replay::HeaderList;

// The JSON-RPC messages carried by an SSE body (events with empty data are skipped).
std::vector<json> parse_sse_messages(std::string_view body);

struct Reply {
  int status = 0;  // 0: no HTTP response at all
  httplib::Headers headers;
  std::string body;
  std::vector<json> messages;  // from an SSE or JSON body

  [[nodiscard]] std::string header(const std::string& name) const;
  [[nodiscard]] bool has_header(const std::string& name) const { return headers.count(name) != 0; }
  // The response (result or error) whose id is `id`; null when absent.
  [[nodiscard]] json response(const json& id) const;
};

class McpClient {
public:
  explicit McpClient(std::uint16_t port, std::string path = "/mcp");

  Reply post(const json& message, const std::string& session = {}, const HeaderList& extra = {});
  Reply post_raw(const std::string& body, const HeaderList& headers);
  Reply get(const std::string& path, const HeaderList& headers = {});  // finite responses only
  Reply del(const std::string& session, const HeaderList& extra = {});
  Reply send(const std::string& method, const std::string& path, const HeaderList& headers, const std::string& body = {});

  // initialize (+ notifications/initialized). Returns the session id, or "" on failure.
  std::string open_session(const std::string& version = "2025-11-25", const json& capabilities = json::object());

  static json request(json id, const std::string& method, json params = nullptr);
  static json tool_call(json id, const std::string& tool, json arguments, json progress_token = nullptr);
  static json notification(const std::string& method, json params = nullptr);
  static json initialize(json id, const std::string& version = "2025-11-25", json capabilities = json::object());
  static HeaderList mcp_headers(const std::string& session = {});

  [[nodiscard]] const std::string& path() const { return path_; }

private:
  httplib::Client http_;
  std::string path_;
};

// A raw connection that reads a streamed response event by event and can drop the connection at
// any moment (the "client leaves mid-stream" move): replay::HttpExchange on loopback.
class StreamClient : public replay::HttpExchange {
public:
  explicit StreamClient(std::uint16_t port);
  // POST of one JSON-RPC message with the usual MCP headers.
  bool post(const std::string& path, const json& message, const std::string& session = {});
};

// Reads messages of a streamed response until the response with `id` (not a request that happens
// to share it); returns it, or null when the stream ends first. Messages before it go to `before`.
json read_response(StreamClient& stream, const json& id, std::vector<json>* before = nullptr);

}  // namespace graceway::test
