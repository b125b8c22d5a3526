#pragma once
// The server a tool drives: a URL given on the command line, or a graceway binary started on a
// free loopback port. Shared by graceway-replay and graceway-loadgen.

#include <cstdint>
#include <optional>
#include <string>

namespace graceway::replay {

struct Target {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string path = "/mcp";
};

// http://host[:port][/path]; nullopt for anything else (https is not spoken).
std::optional<Target> parse_url(const std::string& url);

// A port the kernel just handed out and released; a server started next binds it a moment later.
std::uint16_t free_port();

// Polls GET /healthz until the server answers 200 or 20 s pass (a process we started has no other
// signal when it logs at warn).
bool wait_healthy(const Target& target);

}  // namespace graceway::replay
