// 50 sessions at once, each racing its own DELETE against its own POSTs. Whatever order the
// server sees them in, every request gets exactly one clean answer, nothing hangs, nothing logs
// an error, and every count returns to zero. The starting gun is a latch, not a sleep.

#include <gtest/gtest.h>

#include <latch>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/log_capture.hpp"
#include "support/mcp_client.hpp"
#include "support/test_server.hpp"

namespace graceway::test {
namespace {

constexpr int kSessions = 50;

// The gate of session i. Built by appending: gcc 12 at -O3 reports a false -Wrestrict for
// `"g" + std::to_string(i)` (GCC PR 105329, as in src/transport/http_headers.cpp).
std::string gate_name(int i) {
  std::string name(1, 'g');
  name.append(std::to_string(i));
  return name;
}

struct Outcome {
  std::vector<std::string> problems;
  int served = 0;
  int draining = 0;
  int gone = 0;
};

// Checks one answer to a request with `id`: a result, a 503 naming the id with Retry-After,
// or a 404 naming the id. Anything else is a problem.
void judge(const Reply& reply, const json& id, Outcome& out, const std::string& what) {
  if (reply.status == 200 && !reply.response(id).is_null() && reply.response(id).contains("result")) {
    ++out.served;
    return;
  }
  if (reply.status == 503 && reply.has_header("Retry-After") && std::stoi(reply.header("Retry-After")) >= 1 &&
      reply.messages.size() == 1 && reply.messages[0]["id"] == id) {
    ++out.draining;
    return;
  }
  if (reply.status == 404 && reply.messages.size() == 1 && reply.messages[0]["id"] == id) {
    ++out.gone;
    return;
  }
  out.problems.push_back(what + ": status " + std::to_string(reply.status) + " body " + reply.body);
}

TEST(RaceTest, FiftySessionsEachRaceDeleteAgainstTheirOwnPosts) {
  LogCapture logs;
  auto config = test_config();
  config.tool_threads = kSessions;  // every gate holds a tool thread until released
  TestServer server(config);

  std::vector<std::string> sessions(kSessions);
  std::vector<std::unique_ptr<StreamClient>> in_flight(kSessions);
  {
    auto setup = server.client();
    for (int i = 0; i < kSessions; ++i) {
      sessions[i] = setup.open_session();
      ASSERT_FALSE(sessions[i].empty());
      // Every other session has a tool running when its DELETE lands, so half the DELETEs
      // start a drain and half close at once.
      if (i % 2 == 0) {
        in_flight[i] = server.start_gate(sessions[i], gate_name(i), "work");
      }
    }
  }

  std::mutex mu;  // guards total
  Outcome total;
  std::latch start(kSessions * 4);
  std::vector<std::jthread> threads;
  for (int i = 0; i < kSessions; ++i) {
    const auto& session = sessions[i];
    auto racer = [&, session](int lane) {
      auto client = server.client();
      Outcome mine;
      start.arrive_and_wait();
      switch (lane) {
        case 0: {
          const auto reply = client.del(session);
          if (reply.status != 200) mine.problems.push_back("DELETE answered " + std::to_string(reply.status));
          break;
        }
        case 1:
          judge(client.post(McpClient::tool_call(1, "echo", {{"text", "x"}}), session), 1, mine, "echo");
          break;
        case 2:
          judge(client.post(McpClient::request("p", "ping"), session), "p", mine, "ping");
          break;
        case 3: {
          const auto reply = client.post(McpClient::notification("notifications/progress", {{"progressToken", 1}, {"progress", 1}}),
                                         session);
          if (reply.status != 202 && reply.status != 404) {
            mine.problems.push_back("notification answered " + std::to_string(reply.status));
          }
          break;
        }
      }
      std::lock_guard lock(mu);
      total.served += mine.served;
      total.draining += mine.draining;
      total.gone += mine.gone;
      total.problems.insert(total.problems.end(), mine.problems.begin(), mine.problems.end());
    };
    for (int lane = 0; lane < 4; ++lane) threads.emplace_back(racer, lane);
  }
  threads.clear();  // joins

  // The drained sessions finish the work they had, delivered on the original streams.
  for (int i = 0; i < kSessions; i += 2) {
    server.gates().release(gate_name(i));
    const auto messages = in_flight[i]->read_all();
    ASSERT_EQ(messages.size(), 1U) << "session " << i;
    EXPECT_EQ(messages[0]["result"]["content"][0]["text"], "released g" + std::to_string(i));
  }

  for (const auto& p : total.problems) ADD_FAILURE() << p;
  EXPECT_EQ(total.served + total.draining + total.gone, kSessions * 2);
  for (const auto& session : sessions) {
    auto client = server.client();
    EXPECT_EQ(client.post(McpClient::request(9, "ping"), session).status, 404) << "every session ended";
  }

  // Drain the process: afterwards every gauge must be back at zero.
  server.server().shutdown();
  EXPECT_EQ(server.server().wait(), 0);
  const auto& m = server.server().metrics();
  EXPECT_EQ(m.sessions_open.load(), 0);
  EXPECT_EQ(m.sessions_draining.load(), 0);
  EXPECT_EQ(m.requests_in_flight.load(), 0);
  EXPECT_EQ(m.streams_open.load(), 0);
  EXPECT_EQ(m.dropped_writes.load(), 0U);
  EXPECT_TRUE(logs.errors().empty());
  RecordProperty("served", total.served);
  RecordProperty("draining_503", total.draining);
  RecordProperty("gone_404", total.gone);
}

}  // namespace
}  // namespace graceway::test
