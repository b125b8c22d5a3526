#pragma once
// Starting an MCP server as a child process for the stdio gateway: argv, no shell; its own session
// and process group; every graceway descriptor closed across exec; the signal mask and dispositions
// reset; killed by the kernel if graceway dies first (PR_SET_PDEATHSIG: when the thread that forked
// it exits, so fork from a thread that outlives the child). POSIX and Linux calls only, no Asio.

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace graceway::gateway {

// A started child: its pid (also its process-group id), a pidfd that turns readable when it
// exits, and the parent's ends of its stdin, stdout and stderr pipes. All descriptors are
// close-on-exec; the caller owns them.
struct ChildHandles {
  pid_t pid = -1;
  int pidfd = -1;
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
};

struct SpawnOutcome {
  std::optional<ChildHandles> child;  // set when execve succeeded
  int error = 0;                      // errno of the step that failed
  const char* step = "";              // "pipe", "fork", "execve", "pidfd_open"
  // EAGAIN, EMFILE, ENFILE, ENOMEM: the machine is out of something; retrying later may work.
  [[nodiscard]] bool resource_limit() const;
};

// Forks and execs `path` with `argv` and exactly `env` (NAME=VALUE entries). Returns once execve
// has succeeded or failed in the child, so a missing or unexecutable program is reported here.
SpawnOutcome spawn_child(const std::string& path, const std::vector<std::string>& argv, const std::vector<std::string>& env);

// SIGKILL to the process group of `pid` (a child spawn_child started, not yet reaped: its
// zombie keeps the group id from being reused), then reaps it. Returns its wait status.
int kill_group_and_reap(pid_t pid);

// Where execvp would find `name`: itself when it contains a '/', else the first executable
// match in `search_path` (colon-separated). nullopt when there is none.
std::optional<std::string> resolve_executable(const std::string& name, const std::string& search_path);

// The variables a child gets from graceway's environment by default (the MCP SDKs' safe list):
// HOME, LOGNAME, PATH, SHELL, TERM, USER, when set.
std::vector<std::string> inherited_environment();

}  // namespace graceway::gateway
