// Uses only the installed public headers: one tool, a server on port 0, a bound port, a drain.
// Exit 0 when all of that works.

#include <cstdio>
#include <string>
#include <utility>

#include <graceway/server.hpp>
#include <graceway/tool_registry.hpp>

int main() {
  graceway::ToolRegistry tools;
  graceway::ToolDefinition greet;
  greet.name = "greet";
  greet.input_schema = {{"type", "object"}, {"properties", {{"name", {{"type", "string"}}}}}};
  if (!tools.add(greet, [](graceway::ToolContext& ctx) {
        std::string text = "hello ";
        text += ctx.arguments().value("name", std::string("world"));
        return graceway::ToolResult::text(std::move(text));
      })) {
    std::fprintf(stderr, "consumer: ToolRegistry::add refused the tool\n");
    return 1;
  }

  graceway::ServerConfig config;
  config.port = 0;  // a free port
  graceway::Server server(std::move(config), std::move(tools));
  if (const auto ec = server.start()) {
    std::fprintf(stderr, "consumer: start failed: %s\n", ec.message().c_str());
    return 1;
  }
  const auto port = server.port();
  if (port == 0 || !server.ready()) {
    std::fprintf(stderr, "consumer: started but reports port %u, ready %d\n", static_cast<unsigned>(port),
                 static_cast<int>(server.ready()));
    return 1;
  }
  std::printf("consumer: graceway served on port %u\n", static_cast<unsigned>(port));
  server.shutdown();
  const int rc = server.wait();
  if (rc != 0) {
    std::fprintf(stderr, "consumer: wait() returned %d\n", rc);
    return 1;
  }
  std::printf("consumer: shut down cleanly\n");
  return 0;
}
