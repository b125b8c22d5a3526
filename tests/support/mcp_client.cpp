#include "support/mcp_client.hpp"

#include "support/tls.hpp"

#include <strings.h>

#include <algorithm>
#include <cctype>

namespace graceway::test {

std::vector<json> parse_sse_messages(std::string_view body) {
  std::vector<json> out;
  for (const auto& event : sse::decode_all(body)) {
    auto parsed = json::parse(event.data, nullptr, false);
    if (!parsed.is_discarded()) out.push_back(std::move(parsed));  // skips priming events
  }
  return out;
}

std::string Reply::header(const std::string& name) const {
  const auto it = headers.find(name);
  return it == headers.end() ? std::string{} : it->second;
}

json Reply::response(const json& id) const {
  for (const auto& m : messages) {
    if (m.is_object() && m.contains("id") && m["id"] == id && (m.contains("result") || m.contains("error"))) return m;
  }
  return nullptr;
}

McpClient::McpClient(std::uint16_t port, std::string path)
    : http_((tls_enabled() ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port)), path_(std::move(path)) {
  if (tls_enabled()) http_.set_ca_cert_path(test_certificate().cert_file.c_str());
  http_.set_connection_timeout(std::chrono::seconds(10));
  http_.set_read_timeout(std::chrono::seconds(60));
  http_.set_write_timeout(std::chrono::seconds(10));
}

HeaderList McpClient::mcp_headers(const std::string& session) {
  HeaderList h = {{"Content-Type", "application/json"}, {"Accept", "application/json, text/event-stream"}};
  if (!session.empty()) h.emplace_back("Mcp-Session-Id", session);
  return h;
}

Reply McpClient::send(const std::string& method, const std::string& path, const HeaderList& headers,
                      const std::string& body) {
  httplib::Request req;
  req.method = method;
  req.path = path;
  for (const auto& [k, v] : headers) req.headers.emplace(k, v);
  req.body = body;
  Reply reply;
  auto result = http_.send(req);
  if (!result) return reply;
  reply.status = result->status;
  reply.headers = result->headers;
  reply.body = result->body;
  const auto type = result->get_header_value("Content-Type");
  if (type.rfind("text/event-stream", 0) == 0) {
    reply.messages = parse_sse_messages(reply.body);
  } else if (type.rfind("application/json", 0) == 0 && !reply.body.empty()) {
    auto parsed = json::parse(reply.body, nullptr, false);
    if (parsed.is_array()) {
      for (auto& m : parsed) reply.messages.push_back(m);
    } else if (!parsed.is_discarded()) {
      reply.messages.push_back(std::move(parsed));
    }
  }
  return reply;
}

Reply McpClient::post(const json& message, const std::string& session, const HeaderList& extra) {
  auto headers = mcp_headers(session);
  for (const auto& header : extra) {
    // An extra header replaces a default of the same name.
    std::erase_if(headers, [&](const auto& h) { return ::strcasecmp(h.first.c_str(), header.first.c_str()) == 0; });
    headers.push_back(header);
  }
  return send("POST", path_, headers, message.dump());
}

Reply McpClient::post_raw(const std::string& body, const HeaderList& headers) { return send("POST", path_, headers, body); }

Reply McpClient::get(const std::string& path, const HeaderList& headers) { return send("GET", path, headers); }

Reply McpClient::del(const std::string& session, const HeaderList& extra) {
  HeaderList headers;
  if (!session.empty()) headers.emplace_back("Mcp-Session-Id", session);
  headers.insert(headers.end(), extra.begin(), extra.end());
  return send("DELETE", path_, headers);
}

std::string McpClient::open_session(const std::string& version, const json& capabilities) {
  const auto reply = post(initialize(1, version, capabilities));
  if (reply.status != 200) return {};
  const auto session = reply.header("Mcp-Session-Id");
  if (session.empty()) return {};
  if (post(notification("notifications/initialized"), session).status != 202) return {};
  return session;
}

json McpClient::request(json id, const std::string& method, json params) {
  json m = {{"jsonrpc", "2.0"}, {"id", std::move(id)}, {"method", method}};
  if (!params.is_null()) m["params"] = std::move(params);
  return m;
}

json McpClient::tool_call(json id, const std::string& tool, json arguments, json progress_token) {
  json params = {{"name", tool}, {"arguments", std::move(arguments)}};
  if (!progress_token.is_null()) params["_meta"] = {{"progressToken", std::move(progress_token)}};
  return request(std::move(id), "tools/call", std::move(params));
}

json McpClient::notification(const std::string& method, json params) {
  json m = {{"jsonrpc", "2.0"}, {"method", method}};
  if (!params.is_null()) m["params"] = std::move(params);
  return m;
}

json McpClient::initialize(json id, const std::string& version, json capabilities) {
  return request(std::move(id), "initialize",
                 {{"protocolVersion", version},
                  {"capabilities", std::move(capabilities)},
                  {"clientInfo", {{"name", "graceway-tests"}, {"version", "1.0"}}}});
}

// ---------------------------------------------------------------------------------------------

StreamClient::StreamClient(std::uint16_t port) : HttpExchange("127.0.0.1", port, client_tls()) {}

bool StreamClient::post(const std::string& path, const json& message, const std::string& session) {
  return send("POST", path, McpClient::mcp_headers(session), message.dump());
}

json read_response(StreamClient& stream, const json& id, std::vector<json>* before) {
  while (auto message = stream.next_message()) {
    if (message->contains("id") && (*message)["id"] == id && !message->contains("method")) return *message;
    if (before) before->push_back(*message);
  }
  return nullptr;
}

}  // namespace graceway::test
