#pragma once
// One HTTP(S) exchange with an authorization server (metadata, JWK Set, introspection), run to
// completion on the calling thread within a deadline. Only the authenticator's fetch thread calls
// it, so no engine thread ever waits on an authorization server. https:// verifies the server's
// certificate against the system's trust store (SSL_CERT_FILE and SSL_CERT_DIR are honoured) and
// its name; plain http:// is accepted for loopback hosts only (tests, a sidecar).

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace graceway::security {

struct FetchUrl {
  bool tls = false;
  std::string host;    // without brackets
  std::string port;    // "443" or "80" when the URL names none
  std::string target;  // path and query, "/" at least
  std::string host_header;
};
// nullopt (and `why`) for anything but https://HOST[:PORT][/PATH] or http:// on a loopback host.
[[nodiscard]] std::optional<FetchUrl> parse_fetch_url(std::string_view url, std::string& why);

struct FetchRequest {
  std::string url;
  std::string method = "GET";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{5000};  // the whole exchange: resolve, connect, TLS, write, read
  std::size_t max_body_bytes = std::size_t{1} << 20U;
};

struct FetchResult {
  int status = 0;      // 0: no HTTP answer (see error)
  std::string body;
  std::string error;   // why there is no answer; empty when there is one
};

// Never throws.
[[nodiscard]] FetchResult fetch(const FetchRequest& request) noexcept;

}  // namespace graceway::security
