#include "graceway/config.hpp"
#include "graceway/http_options.hpp"

#include <gtest/gtest.h>

namespace graceway {
namespace {

TEST(ConfigTest, DefaultsAreValid) { EXPECT_TRUE(validate(ServerConfig{}).empty()); }

TEST(ConfigTest, EachProblemNamesItsFlag) {
  ServerConfig c;
  c.draining_status = 500;
  c.max_sessions = 0;
  c.path = "mcp";
  c.tool_threads = 0;
  const auto problems = validate(c);
  ASSERT_EQ(problems.size(), 4U);
  EXPECT_NE(problems[0].find("--path"), std::string::npos);
  EXPECT_NE(problems[1].find("--draining-status"), std::string::npos);
  EXPECT_NE(problems[2].find("--max-sessions"), std::string::npos);
  EXPECT_NE(problems[3].find("--tool-threads"), std::string::npos);
}

TEST(ConfigTest, HttpOptionsDefaultsAreValidAndEachProblemNamesItsFlag) {
  EXPECT_TRUE(validate(HttpOptions{}).empty());
  EXPECT_GE(HttpOptions{}.resolved_io_threads(), 1U);
  HttpOptions o;
  o.max_connections = 0;
  o.header_timeout = std::chrono::milliseconds(0);
  o.tls_cert_file = "cert.pem";  // without --tls-key
  const auto problems = validate(o);
  ASSERT_EQ(problems.size(), 3U);
  EXPECT_NE(problems[0].find("--max-connections"), std::string::npos);
  EXPECT_NE(problems[1].find("--http-header-timeout"), std::string::npos);
  EXPECT_NE(problems[2].find("--tls-cert and --tls-key"), std::string::npos);
}

TEST(ConfigTest, LegacySsePathsAreCheckedOnlyWhenServed) {
  ServerConfig c;
  c.sse_path = "sse";
  c.messages_path = "/mcp";
  const auto problems = validate(c);
  ASSERT_EQ(problems.size(), 2U);
  EXPECT_NE(problems[0].find("--sse-path"), std::string::npos);
  EXPECT_NE(problems[1].find("--messages-path"), std::string::npos) << "it may not share --path";
  c.legacy_sse = false;
  EXPECT_TRUE(validate(c).empty()) << "--legacy-sse off ignores them";
}

}  // namespace
}  // namespace graceway
