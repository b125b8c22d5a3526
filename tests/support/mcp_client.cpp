#include "support/mcp_client.hpp"

#include "transport/sse.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

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

McpClient::McpClient(std::uint16_t port, std::string path) : http_("127.0.0.1", port), path_(std::move(path)) {
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

std::string McpClient::open_session(const std::string& version) {
  const auto reply = post(initialize(1, version));
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

json McpClient::initialize(json id, const std::string& version) {
  return request(std::move(id), "initialize",
                 {{"protocolVersion", version},
                  {"capabilities", json::object()},
                  {"clientInfo", {{"name", "graceway-tests"}, {"version", "1.0"}}}});
}

// ---------------------------------------------------------------------------------------------

StreamClient::StreamClient(std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

StreamClient::~StreamClient() { close(); }

void StreamClient::close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

bool StreamClient::send(const std::string& method, const std::string& path, const HeaderList& headers,
                        const std::string& body) {
  if (fd_ < 0) return false;
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST") req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  std::size_t sent = 0;
  while (sent < req.size()) {
    const auto n = ::send(fd_, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

bool StreamClient::post(const std::string& path, const json& message, const std::string& session) {
  return send("POST", path, McpClient::mcp_headers(session), message.dump());
}

bool StreamClient::fill(std::chrono::steady_clock::time_point deadline) {
  if (fd_ < 0 || eof_) return false;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  char buf[16384];
  const auto n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  raw_.append(buf, static_cast<std::size_t>(n));
  return true;
}

int StreamClient::read_head(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t end;
  while ((end = raw_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill(deadline)) return 0;
  }
  const std::string head = raw_.substr(0, end);
  raw_.erase(0, end + 4);
  std::size_t line_end = head.find("\r\n");
  const std::string status_line = head.substr(0, line_end);
  int status = 0;
  if (status_line.size() >= 12) status = std::stoi(status_line.substr(9, 3));
  while (line_end != std::string::npos) {
    const auto start = line_end + 2;
    line_end = head.find("\r\n", start);
    const auto line = head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    auto value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    headers_.emplace(line.substr(0, colon), value);
  }
  head_done_ = true;
  chunked_ = header("Transfer-Encoding") == "chunked";
  if (!chunked_) {
    const auto length = header("Content-Length");
    content_left_ = length.empty() ? 0 : std::stoul(length);
    if (content_left_ == 0) ended_ = true;
  }
  decode();
  return status;
}

std::string StreamClient::header(const std::string& name) const {
  const auto it = headers_.find(name);
  return it == headers_.end() ? std::string{} : it->second;
}

void StreamClient::decode() {
  if (!head_done_ || ended_) return;
  if (!chunked_) {
    const auto take = std::min(content_left_, raw_.size());
    body_.append(raw_, 0, take);
    raw_.erase(0, take);
    content_left_ -= take;
    if (content_left_ == 0) ended_ = true;
    return;
  }
  for (;;) {
    if (in_chunk_data_) {
      const auto take = std::min(chunk_left_, raw_.size());
      body_.append(raw_, 0, take);
      raw_.erase(0, take);
      chunk_left_ -= take;
      if (chunk_left_ != 0) return;
      if (raw_.size() < 2) return;  // wait for the CRLF after the data
      raw_.erase(0, 2);
      in_chunk_data_ = false;
    }
    const auto eol = raw_.find("\r\n");
    if (eol == std::string::npos) return;
    const auto size = std::stoul(raw_.substr(0, eol), nullptr, 16);
    if (size == 0) {
      if (raw_.size() < eol + 4) return;  // "0\r\n\r\n"
      raw_.erase(0, eol + 4);
      ended_ = true;
      return;
    }
    raw_.erase(0, eol + 2);
    chunk_left_ = size;
    in_chunk_data_ = true;
  }
}

std::optional<json> StreamClient::next_message(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    events_.feed(std::string_view(body_).substr(consumed_));
    consumed_ = body_.size();
    while (auto event = events_.next()) {
      auto parsed = json::parse(event->data, nullptr, false);
      if (!parsed.is_discarded()) return parsed;  // else a priming event
    }
    if (ended_) return std::nullopt;
    if (!fill(deadline)) return std::nullopt;
    decode();
  }
}

std::vector<json> StreamClient::read_all(std::chrono::milliseconds timeout) {
  std::vector<json> out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (auto m = next_message(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()))) {
    out.push_back(std::move(*m));
  }
  return out;
}

}  // namespace graceway::test
