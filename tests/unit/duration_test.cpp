#include "graceway/duration.hpp"

#include <gtest/gtest.h>

namespace graceway {
namespace {

using namespace std::chrono_literals;

TEST(DurationTest, ParsesTheDocumentedForms) {
  EXPECT_EQ(parse_duration("250ms"), 250ms);
  EXPECT_EQ(parse_duration("3s"), 3000ms);
  EXPECT_EQ(parse_duration("1.5s"), 1500ms);
  EXPECT_EQ(parse_duration("2m"), 120000ms);
  EXPECT_EQ(parse_duration("1h"), 3600000ms);
  EXPECT_EQ(parse_duration("30"), 30000ms);
  EXPECT_EQ(parse_duration("0"), 0ms);
}

TEST(DurationTest, RefusesEverythingElse) {
  for (const char* bad : {"", "abc", "-1s", "5x", "s", "1..5s", "1e3s", " 3s", "3s ", "99999999999999h"}) {
    EXPECT_FALSE(parse_duration(bad)) << bad;
  }
}

TEST(DurationTest, FormatsWhatItParses) {
  for (auto d : {250ms, 3000ms, 120000ms, 0ms, 1500ms}) EXPECT_EQ(parse_duration(format_duration(d)), d);
  EXPECT_EQ(format_duration(30000ms), "30s");
  EXPECT_EQ(format_duration(120000ms), "2m");
}

TEST(DurationTest, Sizes) {
  EXPECT_EQ(parse_size("1048576"), 1048576U);
  EXPECT_EQ(parse_size("512KiB"), 524288U);
  EXPECT_EQ(parse_size("4MiB"), 4194304U);
  EXPECT_EQ(parse_size("1G"), 1073741824U);
  for (const char* bad : {"", "MiB", "4TB", "-1", "99999999999999999999"}) EXPECT_FALSE(parse_size(bad)) << bad;
}

}  // namespace
}  // namespace graceway
