// The real graceway binary: flags, start-up, and SIGTERM with a request in flight.

#include <gtest/gtest.h>

#include <csignal>
#include <regex>
#include <set>
#include <utility>
#include <vector>

#include "support/mcp_client.hpp"
#include "support/process.hpp"

namespace graceway::test {
namespace {

std::uint16_t port_from(const std::string& line) {
  std::smatch m;
  if (!std::regex_search(line, m, std::regex("127\\.0\\.0\\.1:([0-9]+)"))) return 0;
  return static_cast<std::uint16_t>(std::stoi(m[1]));
}

TEST(BinaryTest, SigtermDrainsTheRequestInFlightThenExitsZero) {
  ChildProcess graceway(GRACEWAY_BINARY, {"--port", "0", "--drain-timeout", "20s", "--shutdown-timeout", "20s"});
  ASSERT_TRUE(graceway.started());
  const auto listening = graceway.wait_for_line("listening on http://127.0.0.1:");
  ASSERT_TRUE(listening) << graceway.output();
  const auto port = port_from(*listening);
  ASSERT_NE(port, 0);

  McpClient client(port);
  const auto session = client.open_session();
  ASSERT_FALSE(session.empty());
  StreamClient call(port);
  ASSERT_TRUE(call.post("/mcp", McpClient::tool_call(1, "sleep", {{"ms", 2000}}, "t"), session));
  ASSERT_EQ(call.read_head(), 200);
  const auto progress = call.next_message();  // the tool is running
  ASSERT_TRUE(progress);
  ASSERT_EQ((*progress)["method"], "notifications/progress");

  graceway.signal(SIGTERM);
  ASSERT_TRUE(graceway.wait_for_line("shutdown: readiness off")) << graceway.output();
  EXPECT_EQ(client.get("/readyz").status, 503);
  EXPECT_EQ(client.get("/healthz").status, 200);
  const auto late = client.post(McpClient::initialize(2));
  EXPECT_EQ(late.status, 503);
  EXPECT_TRUE(late.has_header("Retry-After"));

  const auto rest = call.read_all();
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest.back()["result"]["content"][0]["text"], "slept 2000 ms");
  EXPECT_EQ(graceway.wait_exit(), 0) << graceway.output();
  const auto& out = graceway.output();
  EXPECT_NE(out.find("open -> draining (shutdown)"), std::string::npos) << out;
  EXPECT_NE(out.find("draining -> closed (drained)"), std::string::npos) << out;
  EXPECT_EQ(out.find(" error "), std::string::npos) << out;
}

TEST(BinaryTest, RealSessionIdsAreVisibleAsciiUniqueAndWork) {
  // The in-process tests inject sequential ids; this checks the ids the shipped binary makes
  // (spec: only visible ASCII 0x21-0x7E; the conformance check server-session-id-visible-ascii).
  ChildProcess graceway(GRACEWAY_BINARY, {"--port", "0"});
  const auto listening = graceway.wait_for_line("listening on http://127.0.0.1:");
  ASSERT_TRUE(listening) << graceway.output();
  McpClient client(port_from(*listening));
  std::set<std::string> seen;
  for (int i = 0; i < 64; ++i) {
    const auto session = client.open_session();
    ASSERT_FALSE(session.empty());
    EXPECT_GE(session.size(), 32U) << "at least 128 bits, hex encoded: " << session;
    for (const char c : session) {
      EXPECT_TRUE(c >= 0x21 && c <= 0x7E) << "byte " << static_cast<int>(static_cast<unsigned char>(c)) << " in " << session;
    }
    EXPECT_TRUE(seen.insert(session).second) << "id issued twice: " << session;
    EXPECT_EQ(client.post(McpClient::request(i, "ping"), session).status, 200) << "the id names its session";
  }
  graceway.signal(SIGTERM);
  EXPECT_EQ(graceway.wait_exit(), 0) << graceway.output();
}

TEST(BinaryTest, ASecondSignalExitsAtOnce) {
  ChildProcess graceway(GRACEWAY_BINARY, {"--port", "0", "--shutdown-timeout", "10m", "--drain-timeout", "10m"});
  const auto listening = graceway.wait_for_line("listening on http://127.0.0.1:");
  ASSERT_TRUE(listening);
  const auto port = port_from(*listening);
  McpClient client(port);
  const auto session = client.open_session();
  StreamClient call(port);
  ASSERT_TRUE(call.post("/mcp", McpClient::tool_call(1, "sleep", {{"ms", 3'600'000}}, "t"), session));
  ASSERT_EQ(call.read_head(), 200);
  ASSERT_TRUE(call.next_message());
  graceway.signal(SIGTERM);
  ASSERT_TRUE(graceway.wait_for_line("shutdown: readiness off"));
  graceway.signal(SIGTERM);
  EXPECT_EQ(graceway.wait_exit(), 128 + SIGTERM);
}

TEST(BinaryTest, ABadFlagValueIsRefusedWithOneLineNamingTheFlag) {
  for (const auto& args : std::vector<std::vector<std::string>>{{"--drain-timeout", "soon"},
                                                                 {"--max-sessions", "0"},
                                                                 {"--draining-status", "500"},
                                                                 {"--response-mode", "xml"},
                                                                 {"--max-body-bytes", "lots"},
                                                                 {"--port", "70000"},
                                                                 {"--public-url", "https://mcp.example/mcp/", "--auth-issuer", "https://as.example"},
                                                                 {"--auth-issuer", "http://as.example", "--public-url", "https://mcp.example/mcp"},
                                                                 {"--api-keys", "/nonexistent/keys"},
                                                                 {"--rate-limit", "fast"},
                                                                 {"--trusted-proxies", "10.0.0.0/40"}}) {
    ChildProcess graceway(GRACEWAY_BINARY, args);
    EXPECT_EQ(graceway.wait_exit(), 2) << args[0];
    const auto& out = graceway.output();
    EXPECT_NE(out.find(args[0]), std::string::npos) << out;
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  }
}

TEST(BinaryTest, HelpDocumentsEveryFlag) {
  ChildProcess graceway(GRACEWAY_BINARY, {"--help"});
  EXPECT_EQ(graceway.wait_exit(), 0);
  for (const char* flag :
       {"--host", "--port", "--path", "--drain-timeout", "--draining-status", "--retry-after", "--shutdown-timeout",
        "--session-idle-timeout", "--max-sessions", "--max-body-bytes", "--io-threads", "--max-connections",
        "--max-header-bytes", "--http-header-timeout", "--http-body-timeout", "--http-keepalive-timeout",
        "--http-write-timeout", "--tls-cert", "--tls-key", "--tool-threads",
        "--response-mode", "--log-level", "--log-format", "--keepalive-interval", "--allowed-origins",
        "--allowed-hosts", "--public-url", "--auth-issuer", "--auth-jwks", "--auth-audience", "--auth-scopes",
        "--auth-introspection-client-id", "--auth-introspection-secret-file", "--api-keys", "--rate-limit",
        "--rate-burst", "--rate-limit-unauthenticated", "--trusted-proxies"}) {
    EXPECT_NE(graceway.output().find(flag), std::string::npos) << flag;
  }
}

TEST(BinaryTest, RemovedFlagsAreRefusedNamingWhatReplacesThem) {
  for (const auto& [flag, replacement] : std::vector<std::pair<std::string, std::string>>{
           {"--http-threads", "--io-threads"},
           {"--http-queue", "--max-connections"},
           {"--http-queue-timeout", "--max-connections"},
           {"--disconnect-check-interval", "noticed at once"},
           {"--get-stream-check-interval", "noticed at once"},
           {"--http-read-timeout", "--http-header-timeout"}}) {
    ChildProcess graceway(GRACEWAY_BINARY, {flag, "10"});
    EXPECT_EQ(graceway.wait_exit(), 2) << flag;
    const auto& out = graceway.output();
    EXPECT_NE(out.find(flag), std::string::npos) << out;
    EXPECT_NE(out.find("was removed"), std::string::npos) << out;
    EXPECT_NE(out.find(replacement), std::string::npos) << out;
    EXPECT_EQ(out.find("--help"), std::string::npos) << "removed flags stay out of --help: " << out;
  }
  ChildProcess help(GRACEWAY_BINARY, {"--help"});
  EXPECT_EQ(help.wait_exit(), 0);
  EXPECT_EQ(help.output().find("--http-threads"), std::string::npos) << help.output();
}

TEST(BinaryTest, ABadTlsFileIsOneErrorLineNamingItsFlag) {
  const auto missing = std::string(::testing::TempDir()) + "graceway-no-such-cert.pem";
  for (const auto& [args, flag] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--tls-cert", missing, "--tls-key", missing}, "--tls-cert"},
           {{"--tls-cert", GRACEWAY_BINARY, "--tls-key", GRACEWAY_BINARY}, "--tls-cert"},
           {{"--tls-cert", missing}, "--tls-key"}}) {
    auto argv = args;
    argv.insert(argv.end(), {"--port", "0"});
    ChildProcess graceway(GRACEWAY_BINARY, argv);
    EXPECT_NE(graceway.wait_exit(), 0) << flag;
    const auto& out = graceway.output();
    EXPECT_NE(out.find(flag), std::string::npos) << out;
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
    EXPECT_EQ(out.find("listening on"), std::string::npos) << out;
  }
}

TEST(BinaryTest, JsonLogLinesAreJson) {
  ChildProcess graceway(GRACEWAY_BINARY, {"--port", "0", "--log-format", "json"});
  const auto listening = graceway.wait_for_line("listening on http://127.0.0.1:");
  ASSERT_TRUE(listening);
  const auto line = json::parse(*listening, nullptr, false);
  ASSERT_FALSE(line.is_discarded()) << *listening;
  EXPECT_EQ(line["level"], "info");
  EXPECT_EQ(line["logger"], "graceway.http");
  graceway.signal(SIGINT);
  EXPECT_EQ(graceway.wait_exit(), 0);
}

}  // namespace
}  // namespace graceway::test
