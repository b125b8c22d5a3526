#pragma once
// An in-process graceway on 127.0.0.1:<free port> with the demo tools and the gate tools.

#include <cstdint>
#include <memory>

#include "graceway/config.hpp"
#include "graceway/server.hpp"
#include "support/gates.hpp"
#include "support/mcp_client.hpp"

namespace graceway::test {

// Defaults for tests: a free port, fixed session ids, and windows long enough that only the
// behaviour under test ends them.
ServerConfig test_config();

class TestServer {
public:
  explicit TestServer(ServerConfig config = test_config());
  ~TestServer();  // releases every gate, then stops the server
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  [[nodiscard]] std::uint16_t port() const { return server_->port(); }
  [[nodiscard]] Server& server() { return *server_; }
  [[nodiscard]] GateBoard& gates() { return gates_; }
  [[nodiscard]] McpClient client() const { return McpClient(port(), config_.path); }
  [[nodiscard]] const ServerConfig& config() const { return config_; }

private:
  ServerConfig config_;
  GateBoard gates_;                 // outlives the server: its tools point here
  std::unique_ptr<Server> server_;
};

}  // namespace graceway::test
