#include "replay/http_exchange.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace graceway::replay {

bool HeaderNameLess::operator()(const std::string& a, const std::string& b) const {
  return ::strcasecmp(a.c_str(), b.c_str()) < 0;
}

HttpExchange::HttpExchange(const std::string& host, std::uint16_t port, const TlsClientOptions* tls) : host_(host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      fd_ = fd;
      break;
    }
    ::close(fd);
  }
  ::freeaddrinfo(found);
  if (fd_ >= 0) {
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  if (fd_ >= 0 && tls != nullptr && !start_tls(*tls)) close();
}

bool HttpExchange::start_tls(const TlsClientOptions& tls) {
  auto* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return false;
  tls_context_ = ctx;
  // Reads that find only TLS housekeeping (a session ticket) return instead of blocking, so the
  // read deadlines hold.
  SSL_CTX_clear_mode(ctx, SSL_MODE_AUTO_RETRY);
  if (tls.verify) {
    if (SSL_CTX_load_verify_locations(ctx, tls.ca_file.c_str(), nullptr) != 1) return false;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  auto* ssl = SSL_new(ctx);
  if (ssl == nullptr) return false;
  tls_ = ssl;
  SSL_set_fd(ssl, fd_);
  // SSL_set_tlsext_host_name, without the macro's C cast.
  SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
           static_cast<void*>(const_cast<char*>(host_.c_str())));  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  if (tls.verify) {
    auto* param = SSL_get0_param(ssl);
    // An IP address is checked against the certificate's IP names, anything else as a host name.
    if (X509_VERIFY_PARAM_set1_ip_asc(param, host_.c_str()) != 1) X509_VERIFY_PARAM_set1_host(param, host_.c_str(), 0);
  }
  return SSL_connect(ssl) == 1;
}

long HttpExchange::write_some(const char* data, std::size_t size) {
  if (tls_ != nullptr) return SSL_write(static_cast<SSL*>(tls_), data, static_cast<int>(size));
  return ::send(fd_, data, size, MSG_NOSIGNAL);
}

HttpExchange::~HttpExchange() { close(); }

void HttpExchange::close() {
  if (tls_ != nullptr) {
    SSL_free(static_cast<SSL*>(tls_));
    tls_ = nullptr;
  }
  if (tls_context_ != nullptr) {
    SSL_CTX_free(static_cast<SSL_CTX*>(tls_context_));
    tls_context_ = nullptr;
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

void HttpExchange::abort() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

bool HttpExchange::send(const std::string& method, const std::string& path, const HeaderList& headers,
                        const std::string& body) {
  if (fd_ < 0) return false;
  std::string req;
  req.append(method).append(" ").append(path).append(" HTTP/1.1\r\nHost: ").append(host_).append("\r\n");
  for (const auto& [k, v] : headers) {
    req.append(k).append(": ").append(v).append("\r\n");
  }
  if (!body.empty() || method == "POST") req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  std::size_t sent = 0;
  while (sent < req.size()) {
    const auto n = write_some(req.data() + sent, req.size() - sent);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

bool HttpExchange::fill(std::chrono::steady_clock::time_point deadline) {
  if (fd_ < 0 || eof_) return false;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  auto* ssl = static_cast<SSL*>(tls_);
  if (ssl == nullptr || SSL_pending(ssl) == 0) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  }
  char buf[16384];
  const auto n = ssl != nullptr ? SSL_read(ssl, buf, sizeof buf) : ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0 && ssl != nullptr && SSL_get_error(ssl, static_cast<int>(n)) == SSL_ERROR_WANT_READ) {
    return true;  // TLS housekeeping, no data yet: the caller polls again
  }
  if (n <= 0) {
    eof_ = true;
    if (until_eof_) ended_ = true;
    return false;
  }
  raw_.append(buf, static_cast<std::size_t>(n));
  return true;
}

bool HttpExchange::wait_closed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!eof_ && fill(deadline)) {
  }
  return eof_;
}

namespace {

template <typename T>
bool parse_number(std::string_view text, T& out, int base = 10) {
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, out, base);
  return ec == std::errc() && ptr != text.data();
}

}  // namespace

int HttpExchange::read_head(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t end = 0;
  while ((end = raw_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill(deadline)) return 0;
  }
  const std::string head = raw_.substr(0, end);
  raw_.erase(0, end + 4);
  std::size_t line_end = head.find("\r\n");
  const std::string_view status_line = std::string_view(head).substr(0, line_end);
  int status = 0;
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/" ||
      !parse_number(status_line.substr(9, 3), status)) {
    broken_ = true;
    return 0;
  }
  while (line_end != std::string::npos) {
    const auto start = line_end + 2;
    line_end = head.find("\r\n", start);
    const auto line = head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    auto value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
    headers_.emplace(line.substr(0, colon), value);
  }
  head_done_ = true;
  chunked_ = ::strcasecmp(header("Transfer-Encoding").c_str(), "chunked") == 0;
  if (!chunked_) {
    const auto length = header("Content-Length");
    if (length.empty()) {
      // 1xx, 204 and 304 have no body; otherwise, with neither header, it runs to EOF.
      until_eof_ = !(status < 200 || status == 204 || status == 304);
      ended_ = !until_eof_;
    } else if (!parse_number(length, content_left_)) {
      broken_ = true;
      ended_ = true;
    } else if (content_left_ == 0) {
      ended_ = true;
    }
  }
  decode();
  return status;
}

std::string HttpExchange::header(const std::string& name) const {
  const auto it = headers_.find(name);
  return it == headers_.end() ? std::string{} : it->second;
}

void HttpExchange::decode() {
  if (!head_done_ || ended_ || broken_) return;
  if (until_eof_) {
    body_ += raw_;
    raw_.clear();
    return;
  }
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
    std::string_view size_text = std::string_view(raw_).substr(0, eol);
    size_text = size_text.substr(0, size_text.find(';'));  // chunk extensions
    std::size_t size = 0;
    if (!parse_number(size_text, size, 16)) {
      broken_ = true;
      ended_ = true;
      return;
    }
    if (size == 0) {
      const auto trailer_end = raw_.find("\r\n\r\n", eol);
      if (trailer_end == std::string::npos) return;  // "0\r\n" [trailers] "\r\n"
      raw_.erase(0, trailer_end + 4);
      ended_ = true;
      return;
    }
    raw_.erase(0, eol + 2);
    chunk_left_ = size;
    in_chunk_data_ = true;
  }
}

std::optional<nlohmann::json> HttpExchange::next_message(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto event = next_event(std::max(left, std::chrono::milliseconds(0)));
    if (!event) return std::nullopt;
    auto parsed = nlohmann::json::parse(event->data, nullptr, false);
    if (!parsed.is_discarded()) return parsed;  // else a priming or an endpoint event
  }
}

std::optional<sse::Event> HttpExchange::next_event(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    events_.feed(std::string_view(body_).substr(consumed_));
    consumed_ = body_.size();
    if (auto event = events_.next()) return event;
    if (ended_) return std::nullopt;
    if (!fill(deadline)) {
      decode();
      if (ended_) continue;  // EOF ended a body that runs to EOF: hand out what is left
      return std::nullopt;
    }
    decode();
  }
}

std::vector<nlohmann::json> HttpExchange::read_all(std::chrono::milliseconds timeout) {
  std::vector<nlohmann::json> out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (auto m = next_message(
             std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()))) {
    out.push_back(std::move(*m));
  }
  return out;
}

bool HttpExchange::read_to_end(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  decode();
  while (!ended_) {
    if (!fill(deadline)) {
      decode();
      return ended_;
    }
    decode();
  }
  return true;
}

}  // namespace graceway::replay
