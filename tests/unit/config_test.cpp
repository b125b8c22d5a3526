#include "graceway/config.hpp"

#include <gtest/gtest.h>

namespace graceway {
namespace {

TEST(ConfigTest, DefaultsAreValid) { EXPECT_TRUE(validate(ServerConfig{}).empty()); }

TEST(ConfigTest, EachProblemNamesItsFlag) {
  ServerConfig c;
  c.draining_status = 500;
  c.max_sessions = 0;
  c.path = "mcp";
  c.http_threads = 1;
  const auto problems = validate(c);
  ASSERT_EQ(problems.size(), 4U);
  EXPECT_NE(problems[0].find("--path"), std::string::npos);
  EXPECT_NE(problems[1].find("--draining-status"), std::string::npos);
  EXPECT_NE(problems[2].find("--max-sessions"), std::string::npos);
  EXPECT_NE(problems[3].find("--http-threads"), std::string::npos);
}

TEST(ConfigTest, StreamCheckIntervalsMustBePositive) {
  ServerConfig c;
  c.disconnect_check_interval = std::chrono::milliseconds(0);
  c.get_stream_check_interval = std::chrono::milliseconds(0);
  const auto problems = validate(c);
  ASSERT_EQ(problems.size(), 2U);
  EXPECT_NE(problems[0].find("--disconnect-check-interval"), std::string::npos);
  EXPECT_NE(problems[1].find("--get-stream-check-interval"), std::string::npos);
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
