#include "mcp/protocol.hpp"

#include <gtest/gtest.h>

#include "graceway/demo_tools.hpp"

namespace graceway {
namespace {

using nlohmann::json;

TEST(ProtocolTest, NegotiatesTheClientsVersionWhenSupported) {
  for (const char* v : {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}) {
    EXPECT_EQ(mcp::negotiate_version({{"protocolVersion", v}}), v);
  }
  EXPECT_EQ(mcp::negotiate_version({{"protocolVersion", "1900-01-01"}}), "2025-11-25");
  EXPECT_EQ(mcp::negotiate_version({{"protocolVersion", "2026-07-28"}}), "2025-11-25");
  EXPECT_EQ(mcp::negotiate_version(json::object()), "2025-11-25");
}

TEST(ProtocolTest, BatchesOnlyIn20250326) {
  EXPECT_TRUE(mcp::allows_batches("2025-03-26"));
  EXPECT_FALSE(mcp::allows_batches("2025-06-18"));
  EXPECT_FALSE(mcp::allows_batches("2025-11-25"));
}

TEST(ProtocolTest, ProgressTokenIsAStringOrAnInteger) {
  EXPECT_EQ(mcp::progress_token({{"_meta", {{"progressToken", "p"}}}}), json("p"));
  EXPECT_EQ(mcp::progress_token({{"_meta", {{"progressToken", 4}}}}), json(4));
  EXPECT_FALSE(mcp::progress_token({{"_meta", {{"progressToken", 1.5}}}}));
  EXPECT_FALSE(mcp::progress_token({{"_meta", 1}}));
  EXPECT_FALSE(mcp::progress_token(json::object()));
}

TEST(ProtocolTest, InitializeResultHasTheRequiredFields) {
  const auto r = mcp::initialize_result(ServerInfo{}, "2025-06-18", Catalog{});
  EXPECT_EQ(r["protocolVersion"], "2025-06-18");
  EXPECT_TRUE(r["capabilities"].contains("tools"));
  EXPECT_TRUE(r["capabilities"].contains("logging"));
  EXPECT_FALSE(r["capabilities"].contains("resources")) << "declared only when there are resources";
  EXPECT_FALSE(r["capabilities"].contains("prompts"));
  EXPECT_FALSE(r["capabilities"].contains("completions"));
  EXPECT_EQ(r["serverInfo"]["name"], "graceway");
  EXPECT_TRUE(r["serverInfo"].contains("version"));
}

TEST(ProtocolTest, DemoToolsListWithSchemas) {
  ToolRegistry tools;
  add_demo_tools(tools);
  const auto list = tools.list();
  ASSERT_EQ(list.size(), 3U);
  EXPECT_EQ(list[0]["name"], "echo");
  EXPECT_EQ(list[1]["name"], "sleep");
  EXPECT_EQ(list[2]["name"], "add");
  for (const auto& t : list) EXPECT_EQ(t["inputSchema"]["type"], "object");
  ToolDefinition duplicate;
  duplicate.name = "echo";
  EXPECT_FALSE(tools.add(duplicate, [](ToolContext&) { return ToolResult{}; })) << "names are unique";
}

}  // namespace
}  // namespace graceway
