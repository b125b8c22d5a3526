#include "gateway/upstream_gateway.hpp"

#include <gtest/gtest.h>

namespace graceway::gateway {
namespace {

TEST(UpstreamUrlTest, HostPortAndTargetComeFromAnHttpUrl) {
  std::string why;
  auto url = parse_upstream_url("http://127.0.0.1:8000/mcp", why);
  ASSERT_TRUE(url) << why;
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, "8000");
  EXPECT_EQ(url->target, "/mcp");
  EXPECT_EQ(url->host_header, "127.0.0.1:8000");
  url = parse_upstream_url("HTTP://mcp.internal?x=1#frag", why);
  ASSERT_TRUE(url) << why;
  EXPECT_EQ(url->host, "mcp.internal");
  EXPECT_EQ(url->port, "80");
  EXPECT_EQ(url->target, "/?x=1");
  url = parse_upstream_url("http://[::1]:9/a/b", why);
  ASSERT_TRUE(url) << why;
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, "9");
  EXPECT_EQ(url->host_header, "[::1]:9");
}

TEST(UpstreamUrlTest, WhatCannotBeServedIsRefusedWithAReason) {
  for (const char* bad : {"https://example.com/mcp", "ftp://x/", "http://", "http://:80/", "http://h:0/", "http://h:99999/",
                          "http://h:8x/", "http://[::1/", "http://user:pw@h/", "127.0.0.1:8000/mcp"}) {
    std::string why;
    EXPECT_FALSE(parse_upstream_url(bad, why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
}

TEST(UpstreamUrlTest, OptionsNameTheFlagOfEachProblem) {
  UpstreamGatewayOptions options;
  options.url = "http://127.0.0.1:1/mcp";
  EXPECT_TRUE(validate(options).empty());
  options.headers = {"X-Api-Key: k", "Authorization: Bearer configured"};
  EXPECT_TRUE(validate(options).empty()) << "configured credentials are what --upstream-header is for";
  options.headers = {"no colon", "Mcp-Session-Id: x", "Host: other", "X-Bad: a\r\nInjected: b"};
  options.delete_timeout = std::chrono::milliseconds(0);
  const auto problems = validate(options);
  ASSERT_EQ(problems.size(), 5U);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_TRUE(problems[i].starts_with("--upstream-header")) << problems[i];
  EXPECT_TRUE(problems[4].starts_with("--upstream-delete-timeout")) << problems[4];
}

}  // namespace
}  // namespace graceway::gateway
