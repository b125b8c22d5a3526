#include "security/http_fetch.hpp"

#include <cctype>
#include <charconv>
#include <limits>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>


namespace graceway::security {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The exchange as a chain of async steps on a private io_context, so one deadline covers all of
// them (Beast's sync calls have none).
template <class Stream>
class Exchange {
public:
  Exchange(Stream& stream, const FetchRequest& request, const FetchUrl& url, FetchResult& result)
      : stream_(stream), result_(result) {
    request_.method_string(request.method);
    request_.target(url.target);
    request_.version(11);
    request_.set(bhttp::field::host, url.host_header);
    request_.set(bhttp::field::user_agent, "graceway");
    request_.set(bhttp::field::connection, "close");
    for (const auto& [name, value] : request.headers) request_.set(name, value);
    request_.body() = request.body;
    request_.prepare_payload();
    parser_.body_limit(request.max_body_bytes);
    parser_.header_limit(16U * 1024U);
  }

  void run() {
    bhttp::async_write(stream_, request_, [this](const error_code& ec, std::size_t) {
      if (ec) return fail("sending the request", ec);
      bhttp::async_read(stream_, buffer_, parser_, [this](const error_code& read_ec, std::size_t) {
        if (read_ec) return fail("reading the answer", read_ec);
        result_.status = static_cast<int>(parser_.get().result_int());
        result_.body = std::move(parser_.get().body());
      });
    });
  }

private:
  void fail(const char* step, const error_code& ec) {
    result_.error = std::string(step) + ": " + (ec == beast::error::timeout ? "timed out" : ec.message());
  }

  Stream& stream_;
  FetchResult& result_;
  bhttp::request<bhttp::string_body> request_;
  bhttp::response_parser<bhttp::string_body> parser_;
  beast::flat_buffer buffer_;
};

// Exactly localhost, or an address in 127.0.0.0/8 or ::1: a name that merely starts with "127."
// is somebody else's host, and plain http to it would carry the introspection secret in clear.
bool is_loopback_address(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24U) == 127U;
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

bool is_ip_literal(const std::string& host) {
  in6_addr any{};
  return inet_pton(AF_INET, host.c_str(), &any) == 1 || inet_pton(AF_INET6, host.c_str(), &any) == 1;
}

}  // namespace

std::optional<FetchUrl> parse_fetch_url(std::string_view url, std::string& why) {
  FetchUrl out;
  std::string_view rest;
  if (url.starts_with("https://")) {
    out.tls = true;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    why = "must start with https:// (or http:// on a loopback host)";
    return std::nullopt;
  }
  const auto path_at = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path_at);
  std::string_view target = path_at == std::string_view::npos ? std::string_view{} : rest.substr(path_at);
  if (target.find('#') != std::string_view::npos) target = target.substr(0, target.find('#'));
  out.host_header = std::string(authority);
  if (authority.find('@') != std::string_view::npos) {
    why = "must not carry credentials";
    return std::nullopt;
  }
  std::string_view port;
  if (authority.starts_with("[")) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      why = "has an unclosed [";
      return std::nullopt;
    }
    out.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') {
        why = "has something after ]";
        return std::nullopt;
      }
      port = authority.substr(close + 2);
    }
  } else {
    const auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) {
    why = "names no host";
    return std::nullopt;
  }
  if (!port.empty()) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
      why = "has a bad port";
      return std::nullopt;
    }
  }
  out.port = port.empty() ? (out.tls ? "443" : "80") : std::string(port);
  out.target = target.empty() ? "/" : std::string(target);
  if (out.target.front() == '?') out.target.insert(0, "/");
  if (!out.tls && !is_loopback_address(lower(out.host))) {
    why = "must be https:// unless its host is loopback";
    return std::nullopt;
  }
  return out;
}

FetchResult fetch(const FetchRequest& request) noexcept {
  FetchResult result;
  try {
    std::string why;
    const auto url = parse_fetch_url(request.url, why);
    if (!url) {
      result.error = "the URL " + why;
      return result;
    }
    net::io_context io;
    tcp::resolver resolver(io);
    error_code ec;
    // Resolving is synchronous (getaddrinfo has no deadline of its own); the hosts are operator
    // configuration, normally an IP literal or a name the local resolver knows.
    const auto endpoints = resolver.resolve(url->host, url->port, ec);
    if (ec) {
      result.error = "resolving " + url->host + ": " + ec.message();
      return result;
    }
    const auto deadline = request.timeout;
    if (url->tls) {
      ssl::context context(ssl::context::tls_client);
      context.set_default_verify_paths();
      context.set_verify_mode(ssl::verify_peer);
      beast::ssl_stream<beast::tcp_stream> stream(io, context);
      // SNI (never for an address: RFC 6066 section 3), and the name the certificate must carry.
      // (SSL_set_tlsext_host_name is a macro with a C cast.)
      if (!is_ip_literal(url->host) &&
          SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                   const_cast<char*>(url->host.c_str())) != 1) {
        result.error = "setting the TLS server name failed";
        return result;
      }
      stream.set_verify_callback(ssl::host_name_verification(url->host));
      Exchange<beast::ssl_stream<beast::tcp_stream>> exchange(stream, request, *url, result);
      beast::get_lowest_layer(stream).expires_after(deadline);
      beast::get_lowest_layer(stream).async_connect(endpoints, [&](const error_code& connect_ec, const tcp::endpoint&) {
        if (connect_ec) {
          result.error = "connecting: " + connect_ec.message();
          return;
        }
        stream.async_handshake(ssl::stream_base::client, [&](const error_code& handshake_ec) {
          if (handshake_ec) {
            result.error = "TLS handshake: " + handshake_ec.message();
            return;
          }
          exchange.run();
        });
      });
      io.run();
    } else {
      beast::tcp_stream stream(io);
      Exchange<beast::tcp_stream> exchange(stream, request, *url, result);
      stream.expires_after(deadline);
      stream.async_connect(endpoints, [&](const error_code& connect_ec, const tcp::endpoint&) {
        if (connect_ec) {
          result.error = "connecting: " + (connect_ec == beast::error::timeout ? std::string("timed out") : connect_ec.message());
          return;
        }
        exchange.run();
      });
      io.run();
    }
    if (result.status == 0 && result.error.empty()) result.error = "no answer";
  } catch (const std::exception& e) {
    result = FetchResult{.status = 0, .body = {}, .error = e.what()};
  } catch (...) {
    result = FetchResult{.status = 0, .body = {}, .error = "unknown failure"};
  }
  return result;
}

}  // namespace graceway::security
