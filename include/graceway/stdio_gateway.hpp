#pragma once
// Gateway mode: graceway in front of an MCP server that speaks stdio. Every session gets a child
// process of its own, started by the session's initialize and stopped when the session closes
// (docs/gateway.md). Set Server::Options::stdio to serve a child instead of the built-in catalog.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace graceway {

struct StdioGatewayOptions {
  // The child's argv; argv[0] is looked up in PATH unless it contains a '/'. No shell.
  std::vector<std::string> command;
  // NAME=VALUE entries added to the child's environment, after the inherited safe list (HOME,
  // LOGNAME, PATH, SHELL, TERM, USER). "{session}" in a value becomes the session id.
  std::vector<std::string> env;
  // Longest line the child may write to stdout; a longer one is skipped and counted.
  std::size_t max_line_bytes = std::size_t{4} << 20U;
  // Bytes waiting to be written to one child's stdin; a message beyond it is refused (-32603).
  std::size_t max_stdin_bytes = std::size_t{16} << 20U;
  // After the session closes: stdin closed, this long to exit, then SIGTERM to the process group,
  // this long again, then SIGKILL.
  std::chrono::milliseconds stop_timeout{2000};
  // Children running at once (live, draining or being stopped); one more initialize gets 503.
  std::size_t max_children = 1000;
  // /readyz answers 503 after this many spawn or initialize failures in a row.
  int unready_after_failures = 3;
};

// Problems with the options, one line each, naming the flag; empty when they are usable. Checks
// that the command resolves to an executable file.
[[nodiscard]] std::vector<std::string> validate(const StdioGatewayOptions& options);

}  // namespace graceway
