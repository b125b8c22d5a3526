#pragma once
// An in-process graceway on 127.0.0.1:<free port> with the demo tools, the gate tools and the
// conformance set (tools, resources, prompts, completions).

#include <cstdint>
#include <functional>
#include <memory>

#include "graceway/catalog.hpp"
#include "graceway/config.hpp"
#include "graceway/http_options.hpp"
#include "graceway/server.hpp"
#include "support/gates.hpp"
#include "support/mcp_client.hpp"

namespace graceway::test {

// Defaults for tests: a free port, fixed session ids, and windows long enough that only the
// behaviour under test ends them.
ServerConfig test_config();

class TestServer {
public:
  // `extend` adds to the catalog (tools, resources, prompts) before the server starts.
  // `configure` sets what else the test needs (auth, rate limits, a clock) before the server starts.
  explicit TestServer(ServerConfig config = test_config(), const std::function<void(Catalog&)>& extend = {},
                      HttpOptions http = {}, const std::function<void(Server::Options&)>& configure = {});
  ~TestServer();  // releases every gate, then stops the server
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  [[nodiscard]] std::uint16_t port() const { return server_->port(); }
  [[nodiscard]] Server& server() { return *server_; }
  [[nodiscard]] GateBoard& gates() { return gates_; }
  [[nodiscard]] McpClient client() const { return McpClient(port(), config_.path); }
  [[nodiscard]] const ServerConfig& config() const { return config_; }

  // POSTs `message` on a raw connection; returns once the 200 response head is in.
  std::unique_ptr<StreamClient> start_call(const std::string& session, const json& message);
  // Starts `tool` ("gate" or "stubborn_gate") on gate `gate`; returns once the tool is running.
  std::unique_ptr<StreamClient> start_gate(const std::string& session, const std::string& gate, const json& id = 100,
                                           const std::string& tool = "gate");
  // Opens the session's standalone GET stream; returns once its 200 head is in.
  std::unique_ptr<StreamClient> open_get_stream(const std::string& session);

private:
  ServerConfig config_;
  GateBoard gates_;                 // outlives the server: its tools point here
  std::unique_ptr<Server> server_;
};

}  // namespace graceway::test
