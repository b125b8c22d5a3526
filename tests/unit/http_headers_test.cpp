#include "transport/http_headers.hpp"

#include <gtest/gtest.h>

namespace graceway::http {
namespace {

TEST(HttpHeadersTest, ContentType) {
  EXPECT_TRUE(is_json_content_type("application/json"));
  EXPECT_TRUE(is_json_content_type("Application/JSON; charset=utf-8"));
  EXPECT_FALSE(is_json_content_type(""));
  EXPECT_FALSE(is_json_content_type("text/plain"));
  EXPECT_FALSE(is_json_content_type("application/jsonx"));
}

TEST(HttpHeadersTest, Accept) {
  auto both = parse_accept("application/json, text/event-stream");
  EXPECT_TRUE(both.json && both.sse);
  auto absent = parse_accept("");
  EXPECT_TRUE(absent.json && absent.sse) << "a client that sends no Accept takes anything";
  auto wildcard = parse_accept("*/*");
  EXPECT_TRUE(wildcard.json && wildcard.sse);
  auto only_json = parse_accept("application/json");
  EXPECT_TRUE(only_json.json);
  EXPECT_FALSE(only_json.sse);
  auto only_sse = parse_accept("text/event-stream;q=0.9");
  EXPECT_FALSE(only_sse.json);
  EXPECT_TRUE(only_sse.sse);
  auto refused = parse_accept("text/html, application/json;q=0");
  EXPECT_FALSE(refused.json || refused.sse);
}

TEST(HttpHeadersTest, LoopbackHosts) {
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_FALSE(is_loopback_host("0.0.0.0"));
  EXPECT_FALSE(is_loopback_host("10.0.0.1"));
}

TEST(HttpHeadersTest, OriginDefaultsToLocalhostOnLoopback) {
  const std::vector<std::string> none;
  EXPECT_TRUE(origin_allowed("", none, true));
  EXPECT_TRUE(origin_allowed("http://localhost:6274", none, true));
  EXPECT_TRUE(origin_allowed("http://127.0.0.1", none, true));
  EXPECT_TRUE(origin_allowed("https://[::1]:8443", none, true));
  EXPECT_FALSE(origin_allowed("http://evil.example.com", none, true));
  EXPECT_FALSE(origin_allowed("http://localhost.evil.com", none, true));
  EXPECT_FALSE(origin_allowed("null", none, true));
  EXPECT_FALSE(origin_allowed("http://localhost", none, false)) << "not bound to loopback: list origins explicitly";
}

TEST(HttpHeadersTest, OriginAllowList) {
  const std::vector<std::string> list = {"https://app.example.com"};
  EXPECT_TRUE(origin_allowed("https://APP.example.com", list, false));
  EXPECT_FALSE(origin_allowed("https://other.example.com", list, false));
  EXPECT_TRUE(origin_allowed("https://anything", {"*"}, false));
  EXPECT_FALSE(origin_allowed("http://localhost:6274", list, true)) << "a list replaces the loopback default";
  EXPECT_TRUE(origin_allowed("http://localhost:6274", {"*"}, true));
}

TEST(HttpHeadersTest, HostDefaultsToLoopbackNamesOnLoopback) {
  const std::vector<std::string> none;
  for (const char* host : {"localhost", "localhost:8080", "LOCALHOST:1", "127.0.0.1", "127.0.0.1:65535", "[::1]",
                           "[::1]:8080", " localhost:80 "}) {
    EXPECT_TRUE(host_allowed(std::string_view(host), none, true)) << host;
  }
  for (const char* host : {"evil.example.com", "evil.example.com:8080", "localhost.evil.com", "127.0.0.2", "::1",
                           "[::1", "localhost:", "localhost:x", "", "[]:80", "localhost@evil.com"}) {
    EXPECT_FALSE(host_allowed(std::string_view(host), none, true)) << host;
  }
  EXPECT_FALSE(host_allowed(std::nullopt, none, true)) << "no Host: refused where Host is checked";
  EXPECT_TRUE(host_allowed(std::string_view("127.0.0.2:9"), none, true, "127.0.0.2")) << "the --host address";
  EXPECT_TRUE(host_allowed(std::string_view("[::1]:9"), none, true, "::1"));
  EXPECT_TRUE(host_allowed(std::string_view("evil.example.com"), none, false)) << "not on loopback: any Host";
  EXPECT_TRUE(host_allowed(std::nullopt, none, false));
}

TEST(HttpHeadersTest, HostAllowList) {
  const std::vector<std::string> list = {"mcp.example.com", "api.example.com:8443", "[::1]"};
  EXPECT_TRUE(host_allowed(std::string_view("MCP.example.com"), list, true));
  EXPECT_TRUE(host_allowed(std::string_view("mcp.example.com:9000"), list, true)) << "no port in the entry: any port";
  EXPECT_TRUE(host_allowed(std::string_view("api.example.com:8443"), list, false));
  EXPECT_FALSE(host_allowed(std::string_view("api.example.com"), list, false)) << "a port in the entry must match";
  EXPECT_FALSE(host_allowed(std::string_view("api.example.com:443"), list, false));
  EXPECT_TRUE(host_allowed(std::string_view("[::1]:1"), list, true));
  EXPECT_FALSE(host_allowed(std::string_view("localhost:8080"), list, true)) << "a list replaces the default";
  EXPECT_FALSE(host_allowed(std::string_view("anything"), list, false)) << "a list applies off loopback too";
  EXPECT_FALSE(host_allowed(std::nullopt, list, false));
  EXPECT_TRUE(host_allowed(std::string_view("anything"), {"*"}, true));
  EXPECT_TRUE(host_allowed(std::nullopt, {"*"}, true));
}

}  // namespace
}  // namespace graceway::http
