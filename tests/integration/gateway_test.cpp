// Gateway mode over real sockets, in front of real, unchanged MCP servers from npm
// (@modelcontextprotocol/server-everything and server-memory, pinned in tests/e2e): the drain
// reaches the child, a child that dies or misbehaves is contained, and children never leak.
// Misbehaviour the real servers do not offer on demand (a grandchild, ignoring EOF, a stderr
// flood, lines that are not JSON) comes from /bin/sh wrapped around the real server.

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "graceway/server.hpp"
#include "support/gateway_fixture.hpp"

namespace graceway::test {
namespace {

using namespace std::chrono_literals;

const std::string kModules = GRACEWAY_NPM_MODULES;
const std::string kNode = GRACEWAY_NODE;
const std::string kEverything = kModules + "/@modelcontextprotocol/server-everything/dist/index.js";
const std::string kMemory = kModules + "/@modelcontextprotocol/server-memory/dist/index.js";

std::vector<std::string> everything() { return {kNode, kEverything, "stdio"}; }

// The real server behind a shell: `script` runs first, then `exec`s (or runs) server-everything,
// which the script names "$0" "$1".
std::vector<std::string> shell_around_everything(const std::string& script) {
  return {"/bin/sh", "-c", script, kNode, kEverything};
}

// True while a process of group `pgid` runs (a zombie does not count: it waits for its parent,
// maybe init, to reap it).
bool group_running(pid_t pgid) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::ifstream in(entry.path() / "stat");
    std::string stat;
    if (!std::getline(in, stat)) continue;
    // pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses, so read after the last ')'.
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    char state = 0;
    long ppid = 0;
    long pgrp = 0;
    rest >> state >> ppid >> pgrp;
    if (pgrp == pgid && state != 'Z' && state != 'X') return true;
  }
  return false;
}

// Waits for group `pgid` to stop running: a SIGKILL is delivered asynchronously, and the group's
// members are not our children, so there is nothing to wait on but /proc. True once gone.
bool group_gone(pid_t pgid, std::chrono::milliseconds timeout = 5s) {
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  while (group_running(pgid)) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

class GatewayTest : public GatewayFixture {
protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(kEverything) && std::filesystem::exists(kMemory))
        << "the MCP servers pinned in tests/e2e are not installed; run scripts/setup.sh --tests";
  }

  Server& start(std::vector<std::string> command, const std::function<void(ServerConfig&, StdioGatewayOptions&)>& tweak = {}) {
    auto config = test_config();
    StdioGatewayOptions stdio;
    stdio.command = std::move(command);
    stdio.stop_timeout = 500ms;
    if (tweak) tweak(config, stdio);
    Server::Options options;
    options.stdio = std::move(stdio);
    return start_server(config, std::move(options));
  }

  // The child's pid (its process-group id too), from the line graceway logs when it starts it.
  pid_t child_pid(const std::string& session) {
    const auto needle = "session " + session + ": started its MCP server (pid ";
    EXPECT_TRUE(logs_.wait_for(needle));
    for (const auto& line : logs_.lines()) {
      if (const auto at = line.text.find(needle); at != std::string::npos) return std::stoi(line.text.substr(at + needle.size()));
    }
    return -1;
  }
};

TEST_F(GatewayTest, TheClientSeesTheChildsInitializeAndTools) {
  start(everything());
  auto c = client();
  const auto session = expect_everythings_initialize(c);
  ASSERT_FALSE(session.empty());
  ASSERT_EQ(c.post(McpClient::notification("notifications/initialized"), session,
                   {{"MCP-Protocol-Version", "2025-06-18"}}).status, 202);
  const auto tools = c.post(McpClient::request(2, "tools/list"), session, {{"MCP-Protocol-Version", "2025-06-18"}});
  ASSERT_EQ(tools.status, 200);
  std::set<std::string> names;
  const auto listed = tools.response(2);
  for (const auto& tool : listed["result"]["tools"]) names.insert(tool["name"].get<std::string>());
  EXPECT_TRUE(names.count("echo") && names.count("trigger-long-running-operation")) << tools.body;
  const auto echo = c.post(McpClient::tool_call(3, "echo", {{"message", "hi"}}), session, {{"MCP-Protocol-Version", "2025-06-18"}});
  EXPECT_EQ(echo.response(3)["result"]["content"][0]["text"], "Echo: hi");
  EXPECT_EQ(server_->metrics().child_spawns.load(), 1U);
  EXPECT_EQ(server_->metrics().children_live.load(), 1);
}

TEST_F(GatewayTest, DeleteWhileALongCallRunsDeliversItThen503Then404ThenTheChildGetsEof) {
  start(everything());
  auto c = client();
  const auto session = c.open_session();
  ASSERT_FALSE(session.empty());
  const auto pid = child_pid(session);
  auto call = start_call(session, long_call(7, 1, 2));
  std::vector<json> progress;
  // The first progress event proves the call runs inside the child; only then the DELETE.
  auto first = call->next_message();
  while (first && !first->contains("method")) first = call->next_message();  // skip a priming event's absence
  ASSERT_TRUE(first);
  ASSERT_EQ((*first)["method"], "notifications/progress");
  ASSERT_EQ(c.del(session).status, 200);
  const auto refused = c.post(McpClient::request(8, "tools/list"), session);
  EXPECT_EQ(refused.status, 503);
  EXPECT_TRUE(refused.has_header("Retry-After"));
  EXPECT_TRUE(group_running(pid)) << "the child keeps running while its session drains";

  const auto result = read_response(*call, 7, &progress);
  ASSERT_FALSE(result.is_null()) << "the call's result arrived";
  EXPECT_EQ(result["result"]["content"][0]["text"], "Long running operation completed. Duration: 1 seconds, Steps: 2.");
  EXPECT_EQ(progress.size(), 1U) << "the second progress event, on the call's own stream";
  ASSERT_TRUE(server_->wait_session_state(session, SessionState::closed, 10s));
  EXPECT_EQ(c.post(McpClient::request(9, "tools/list"), session).status, 404);
  // Closed, so the child sees EOF; server-everything exits on it.
  EXPECT_TRUE(logs_.wait_for("(pid " + std::to_string(pid) + ") exited with code 0; reaped"));
  EXPECT_TRUE(group_gone(pid));
  EXPECT_EQ(server_->metrics().children_live.load(), 0);
  EXPECT_EQ(server_->metrics().child_crashes_exit.load() + server_->metrics().child_crashes_signal.load(), 0U);
}

TEST_F(GatewayTest, AtTheDeadlineTheChildIsToldToCancelAndTheClientGetsTheDeadlineError) {
  start(everything(), [](ServerConfig& config, StdioGatewayOptions&) { config.drain_timeout = 300ms; });
  auto c = client();
  const auto session = c.open_session();
  const auto pid = child_pid(session);
  auto call = start_call(session, long_call(5, 30, 30));
  ASSERT_EQ(c.del(session).status, 200);
  const auto answer = read_response(*call, 5);
  ASSERT_FALSE(answer.is_null());
  EXPECT_EQ(answer["error"]["code"], -32000);
  EXPECT_NE(answer["error"]["message"].get<std::string>().find("drain window ended"), std::string::npos);
  EXPECT_TRUE(logs_.wait_for("request i:5 stopped; its MCP server was sent notifications/cancelled (the session's drain "
                             "window ended)"));
  // Then EOF, and SIGTERM / SIGKILL if it does not go: reaped either way, its group gone.
  EXPECT_TRUE(logs_.wait_for("(pid " + std::to_string(pid) + ")", 2));
  EXPECT_TRUE(logs_.wait_for("; reaped after"));
  EXPECT_TRUE(group_gone(pid));
}

TEST_F(GatewayTest, AStreamBrokenMidCallIsResumedFromGracewaysEventLog) {
  start(everything());
  auto c = client();
  const auto session = c.open_session();
  auto call = start_call(session, long_call(6, 1, 4));
  // The priming event, then the first progress event; then the client drops the connection.
  std::string last_id;
  while (auto event = call->next_event()) {
    last_id = event->id;
    if (event->data.find("notifications/progress") != std::string::npos) break;
  }
  ASSERT_FALSE(last_id.empty()) << "2025-11-25 events carry ids";
  call->abort();
  StreamClient resumed(server_->port());
  ASSERT_TRUE(resumed.send("GET", "/mcp", {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", session}, {"Last-Event-ID", last_id}}));
  ASSERT_EQ(resumed.read_head(), 200);
  std::vector<json> progress;
  const auto result = read_response(resumed, 6, &progress);
  ASSERT_FALSE(result.is_null()) << "the call's result came on the resumed stream";
  EXPECT_EQ(result["result"]["content"][0]["text"], "Long running operation completed. Duration: 1 seconds, Steps: 4.");
  ASSERT_EQ(progress.size(), 3U) << "progress 2, 3 and 4, each once";
  EXPECT_EQ(progress.front()["params"]["progress"], 2);
}

TEST_F(GatewayTest, AChildKilledMidCallFailsTheCallWithItsSignalAndClosesTheSession) {
  start(everything());
  auto c = client();
  const auto session = c.open_session();
  const auto pid = child_pid(session);
  auto call = start_call(session, long_call(3, 20, 20));
  auto first = call->next_message();
  while (first && !first->contains("method")) first = call->next_message();
  ASSERT_TRUE(first) << "the call is running in the child";
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  const auto answer = read_response(*call, 3);
  ASSERT_FALSE(answer.is_null());
  EXPECT_EQ(answer["error"]["code"], -32603);
  EXPECT_EQ(answer["error"]["data"]["reason"], "child_exited");
  EXPECT_EQ(answer["error"]["data"]["signal"], SIGKILL);
  ASSERT_TRUE(server_->wait_session_state(session, SessionState::closed, 10s));
  EXPECT_EQ(c.post(McpClient::request(4, "tools/list"), session).status, 404) << "the client re-initializes";
  EXPECT_EQ(server_->metrics().child_crashes_signal.load(), 1U);
  EXPECT_EQ(server_->metrics().children_live.load(), 0);
  // A fresh initialize gets a fresh child.
  const auto again = c.open_session();
  ASSERT_FALSE(again.empty());
  EXPECT_NE(child_pid(again), pid);
  EXPECT_EQ(c.post(McpClient::tool_call(5, "echo", {{"message", "back"}}), again).response(5)["result"]["content"][0]["text"],
            "Echo: back");
}

TEST_F(GatewayTest, AGrandchildLeftByAShellDiesWithTheGroup) {
  start(shell_around_everything("sleep 300 & exec \"$0\" \"$1\" stdio"));
  auto c = client();
  const auto session = c.open_session();
  ASSERT_FALSE(session.empty());
  const auto pid = child_pid(session);
  ASSERT_EQ(c.del(session).status, 200);
  EXPECT_TRUE(logs_.wait_for("(pid " + std::to_string(pid) + ") exited with code 0; reaped"));
  EXPECT_TRUE(group_gone(pid)) << "the background sleep went with its group: no orphan";
}

TEST_F(GatewayTest, AChildThatIgnoresEofAndSigtermIsKilledAndReaped) {
  // sh ignores SIGTERM, and so does what it runs; after the server exits on EOF, sleep lingers.
  start(shell_around_everything("trap '' TERM; \"$0\" \"$1\" stdio; exec sleep 300"),
        [](ServerConfig&, StdioGatewayOptions& stdio) { stdio.stop_timeout = 200ms; });
  auto c = client();
  const auto session = c.open_session();
  const auto pid = child_pid(session);
  ASSERT_EQ(c.del(session).status, 200) << "the DELETE is never delayed by the child";
  EXPECT_TRUE(logs_.wait_for("after stdin closed; SIGTERM to its process group"));
  EXPECT_TRUE(logs_.wait_for("after SIGTERM; SIGKILL to its process group"));
  EXPECT_TRUE(logs_.wait_for("(pid " + std::to_string(pid) + ") was killed by signal 9; reaped"));
  EXPECT_TRUE(group_gone(pid));
  EXPECT_EQ(server_->metrics().children_stopping.load(), 0);
}

TEST_F(GatewayTest, AChildThatClosesItsStdoutButRunsOnFailsItsRequestsAndIsStopped) {
  start({"/bin/sh", "-c", "exec >&-; exec sleep 300"},
        [](ServerConfig&, StdioGatewayOptions& stdio) { stdio.stop_timeout = 200ms; });
  auto c = client();
  const auto reply = c.post(McpClient::initialize(1));
  const auto answer = reply.response(1);
  ASSERT_FALSE(answer.is_null()) << reply.status << " " << reply.body;
  EXPECT_EQ(answer["error"]["code"], -32603);
  EXPECT_EQ(answer["error"]["data"]["reason"], "child_closed_stdout");
  const auto session = reply.header("Mcp-Session-Id");
  ASSERT_TRUE(server_->wait_session_state(session, SessionState::closed, 10s));
  // sleep ignores EOF; SIGTERM ends it.
  EXPECT_TRUE(logs_.wait_for("was killed by signal 15; reaped"));
  EXPECT_EQ(server_->metrics().children_live.load(), 0);
}

TEST_F(GatewayTest, StderrFloodsAndBadStdoutLinesAreCountedAndTheSessionWorks) {
  start(shell_around_everything(
            "i=0; while [ $i -lt 400 ]; do echo flood-$i >&2; i=$((i+1)); done; "
            "echo 'this is not json'; head -c 20000 /dev/zero | tr '\\0' x; echo; exec \"$0\" \"$1\" stdio"),
        [](ServerConfig&, StdioGatewayOptions& stdio) { stdio.max_line_bytes = 10000; });
  auto c = client();
  const auto session = c.open_session();
  ASSERT_FALSE(session.empty());
  const auto tools = c.post(McpClient::request(2, "tools/list"), session);
  EXPECT_FALSE(tools.response(2)["result"]["tools"].empty());
  const auto& m = server_->metrics();
  EXPECT_EQ(m.child_stdout_not_json.load(), 1U);
  EXPECT_EQ(m.child_stdout_oversized.load(), 1U);
  EXPECT_TRUE(logs_.wait_for("flood-0"));
  EXPECT_GE(m.child_stderr_lines.load(), 400U);
  // Every stderr line is either in graceway's log, under the session id, or counted as suppressed.
  const auto logged = logs_.count("session " + session + ": [server stderr] ");
  EXPECT_EQ(logged + m.child_stderr_suppressed.load(), m.child_stderr_lines.load());
  EXPECT_GT(m.child_stderr_suppressed.load(), 0U) << "400 lines at once are over the log rate";
}

TEST_F(GatewayTest, ASamplingRequestFromTheChildIsAnsweredOnTheCallsStream) {
  start(everything());
  expect_sampling_answered_on_the_calls_stream(client().open_session("2025-11-25", {{"sampling", json::object()}}));
}

TEST_F(GatewayTest, EachSessionHasItsOwnChildAndItsOwnFile) {
  const auto dir = std::filesystem::temp_directory_path() / ("graceway-memory-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  start({kNode, kMemory}, [&](ServerConfig&, StdioGatewayOptions& stdio) {
    stdio.env = {"MEMORY_FILE_PATH=" + (dir / "{session}.jsonl").string()};
  });
  auto c = client();
  const auto a = c.open_session();
  const auto b = c.open_session();
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  EXPECT_NE(child_pid(a), child_pid(b));
  const json entity = {{"entities", {{{"name", "alice"}, {"entityType", "person"}, {"observations", {"likes tea"}}}}}};
  ASSERT_EQ(c.post(McpClient::tool_call(2, "create_entities", entity), a).status, 200);
  const auto in_a = c.post(McpClient::tool_call(3, "read_graph", json::object()), a);
  const auto in_b = c.post(McpClient::tool_call(3, "read_graph", json::object()), b);
  EXPECT_NE(in_a.body.find("alice"), std::string::npos) << in_a.body;
  EXPECT_EQ(in_b.body.find("alice"), std::string::npos) << "session b has a graph of its own: " << in_b.body;
  EXPECT_TRUE(std::filesystem::exists(dir / (a + ".jsonl")));
  server_.reset();
  std::filesystem::remove_all(dir);
}

TEST_F(GatewayTest, SpawnFailuresAnswerClearlyAndFlipReadiness) {
  const auto script = std::filesystem::temp_directory_path() / ("graceway-child-" + std::to_string(::getpid()) + ".sh");
  {
    std::ofstream out(script);
    out << "#!/bin/sh\nexec \"" << kNode << "\" \"" << kEverything << "\" stdio\n";
  }
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  start({script.string()}, [](ServerConfig&, StdioGatewayOptions& stdio) { stdio.max_children = 1; });
  auto c = client();
  const auto first = c.open_session();
  ASSERT_FALSE(first.empty());
  // --max-children: 503 + Retry-After, and no session is minted.
  const auto full = c.post(McpClient::initialize(1));
  EXPECT_EQ(full.status, 503);
  EXPECT_TRUE(full.has_header("Retry-After"));
  EXPECT_FALSE(full.has_header("Mcp-Session-Id"));
  ASSERT_EQ(c.del(first).status, 200);
  ASSERT_TRUE(logs_.wait_for("exited with code 0; reaped"));

  // The command stops being executable: each initialize is a JSON-RPC error, and after three in a
  // row /readyz says why while /healthz stays 200.
  std::filesystem::permissions(script, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  for (int i = 0; i < 3; ++i) {
    const auto failed = c.post(McpClient::initialize(1));
    EXPECT_EQ(failed.status, 502);
    EXPECT_EQ(failed.response(1)["error"]["code"], -32603);
    EXPECT_NE(failed.body.find("Permission denied"), std::string::npos) << failed.body;
  }
  const auto unready = c.get("/readyz");
  EXPECT_EQ(unready.status, 503);
  EXPECT_NE(unready.body.find("3 MCP server start or initialize failures in a row"), std::string::npos) << unready.body;
  EXPECT_EQ(c.get("/healthz").status, 200);
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  EXPECT_FALSE(c.open_session().empty());
  EXPECT_EQ(c.get("/readyz").status, 200) << "a success clears it";
  server_.reset();
  std::filesystem::remove(script);
  EXPECT_EQ(logs_.errors().size(), 3U) << "each spawn failure is one error line";
  errors_expected_ = true;
}

TEST_F(GatewayTest, ShutdownWithAChildMidCallEndsTheCallAndReapsEveryChild) {
  auto& server = start(everything(), [](ServerConfig& config, StdioGatewayOptions&) {
    config.shutdown_timeout = 300ms;
    config.drain_timeout = 300ms;
  });
  auto c = client();
  const auto busy = c.open_session();
  const auto idle = c.open_session();
  const auto busy_pid = child_pid(busy);
  const auto idle_pid = child_pid(idle);
  auto call = start_call(busy, long_call(4, 30, 30));
  server.shutdown();
  const auto answer = read_response(*call, 4);
  ASSERT_FALSE(answer.is_null());
  EXPECT_EQ(answer["error"]["code"], -32000);
  EXPECT_EQ(server.wait(), 0);
  EXPECT_EQ(server.metrics().children_live.load(), 0);
  EXPECT_TRUE(group_gone(busy_pid));
  EXPECT_TRUE(group_gone(idle_pid));
}

}  // namespace
}  // namespace graceway::test
