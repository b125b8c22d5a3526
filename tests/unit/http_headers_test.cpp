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
}

}  // namespace
}  // namespace graceway::http
