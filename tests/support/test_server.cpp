#include "support/test_server.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "graceway/conformance_tools.hpp"
#include "graceway/demo_tools.hpp"
#include "support/tls.hpp"

namespace graceway::test {

ServerConfig test_config() {
  ServerConfig config;
  config.host = "127.0.0.1";
  config.port = 0;
  config.drain_timeout = std::chrono::seconds(30);
  config.shutdown_timeout = std::chrono::seconds(30);
  config.session_idle_timeout = std::chrono::milliseconds(0);
  config.tool_threads = 8;
  return config;
}

TestServer::TestServer(ServerConfig config, const std::function<void(Catalog&)>& extend, HttpOptions http,
                       const std::function<void(Server::Options&)>& configure)
    : config_(std::move(config)) {
  Catalog catalog;
  add_demo_tools(catalog.tools);
  gates_.install(catalog.tools);
  add_conformance_set(catalog);
  if (extend) extend(catalog);
  Server::Options options;
  options.session_ids = std::make_shared<SequentialSessionIds>("test-session-");
  options.http = std::move(http);
  if (tls_enabled()) {
    options.http.tls_cert_file = test_certificate().cert_file;
    options.http.tls_key_file = test_certificate().key_file;
  }
  if (configure) configure(options);
  server_ = std::make_unique<Server>(config_, std::move(catalog), std::move(options));
  if (auto ec = server_->start()) throw std::runtime_error("test server failed to start: " + ec.message());
}

std::unique_ptr<StreamClient> TestServer::start_call(const std::string& session, const json& message) {
  auto stream = std::make_unique<StreamClient>(port());
  EXPECT_TRUE(stream->post(config_.path, message, session));
  EXPECT_EQ(stream->read_head(), 200);
  return stream;
}

std::unique_ptr<StreamClient> TestServer::start_gate(const std::string& session, const std::string& gate,
                                                     const json& id, const std::string& tool) {
  auto stream = start_call(session, McpClient::tool_call(id, tool, {{"name", gate}}));
  EXPECT_TRUE(gates_.wait_entered(gate)) << "the " << tool << " call never started";
  return stream;
}

std::unique_ptr<StreamClient> TestServer::open_get_stream(const std::string& session) {
  auto stream = std::make_unique<StreamClient>(port());
  EXPECT_TRUE(stream->send("GET", config_.path, {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", session}}));
  EXPECT_EQ(stream->read_head(), 200);
  return stream;
}

TestServer::~TestServer() {
  gates_.release_all();
  server_.reset();
}

}  // namespace graceway::test
