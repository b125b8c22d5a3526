#include "gateway/child_process.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace graceway::gateway {
namespace {

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

struct Pipe {
  int read = -1;
  int write = -1;
  bool open() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    read = above_stdio(fds[0]);
    write = above_stdio(fds[1]);
    return read >= 0 && write >= 0;
  }
  // A graceway started with 0, 1 or 2 closed gets pipe ends there, which the child's dup2 onto
  // 0, 1 and 2 would clobber or leave close-on-exec: move them up.
  static int above_stdio(int fd) {
    if (fd > STDERR_FILENO) return fd;
    const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    ::close(fd);
    return moved;
  }
  void close() {
    close_fd(read);
    close_fd(write);
  }
};

// In the forked child, before execve: async-signal-safe calls only.
[[noreturn]] void exec_child(const char* path, char* const* argv, char* const* envp, const Pipe& in, const Pipe& out,
                             const Pipe& err, int status_fd, pid_t parent) {
  // A session and process group of its own: graceway signals the whole group, grandchildren
  // included, and a terminal's signals never reach it.
  ::setsid();
  // If graceway dies without reaping it, the kernel kills it (stdin EOF is the portable guard).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // graceway died before the line above
  // graceway blocks SIGTERM/SIGINT for its signal thread and ignores SIGPIPE; the child starts clean.
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);  // NOLINT(concurrency-mt-unsafe): the forked child has one thread
  for (int sig = 1; sig < NSIG; ++sig) {
    // The forked child has one thread, and signal() is async-signal-safe.
    if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);  // NOLINT(concurrency-mt-unsafe)
  }
  if (::dup2(in.read, STDIN_FILENO) < 0 || ::dup2(out.write, STDOUT_FILENO) < 0 || ::dup2(err.write, STDERR_FILENO) < 0) {
    const int e = errno;
    (void)!::write(status_fd, &e, sizeof e);
    ::_exit(127);
  }
  // Every other descriptor graceway holds (sockets, other children's pipes) closes on exec, even
  // one a library opened without O_CLOEXEC; status_fd stays usable until execve succeeds.
  if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    struct rlimit limit {};
    const long top = ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < 65536 ? static_cast<long>(limit.rlim_cur) : 65536;
    for (int fd = 3; fd < top; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  ::execve(path, argv, envp);
  const int e = errno;
  (void)!::write(status_fd, &e, sizeof e);
  ::_exit(127);
}

}  // namespace

bool SpawnOutcome::resource_limit() const {
  return error == EAGAIN || error == EMFILE || error == ENFILE || error == ENOMEM;
}

SpawnOutcome spawn_child(const std::string& path, const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  // Everything the child needs is built before fork: it may not allocate afterwards.
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(env.size() + 1);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  SpawnOutcome outcome;
  Pipe in;
  Pipe out;
  Pipe err;
  Pipe status;
  auto fail = [&](const char* step) {
    outcome.error = errno;
    outcome.step = step;
    in.close();
    out.close();
    err.close();
    status.close();
    return outcome;
  };
  if (!in.open() || !out.open() || !err.open() || !status.open()) return fail("pipe");
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return fail("fork");
  if (pid == 0) exec_child(path.c_str(), args.data(), envp.data(), in, out, err, status.write, parent);

  close_fd(in.read);
  close_fd(out.write);
  close_fd(err.write);
  close_fd(status.write);
  int exec_error = 0;
  ssize_t n = 0;
  do {
    n = ::read(status.read, &exec_error, sizeof exec_error);
  } while (n < 0 && errno == EINTR);
  close_fd(status.read);
  if (n > 0) {  // execve (or dup2) failed in the child: reap it and report why
    kill_group_and_reap(pid);
    errno = exec_error;
    return fail("execve");
  }
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    const int e = errno;
    kill_group_and_reap(pid);
    errno = e;
    return fail("pidfd_open");
  }
  ::fcntl(pidfd, F_SETFD, FD_CLOEXEC);
  outcome.child = ChildHandles{.pid = pid, .pidfd = pidfd, .stdin_fd = in.write, .stdout_fd = out.read, .stderr_fd = err.read};
  return outcome;
}

int kill_group_and_reap(pid_t pid) {
  ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

std::optional<std::string> resolve_executable(const std::string& name, const std::string& search_path) {
  auto executable = [](const std::string& candidate) {
    struct stat st {};
    return ::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0;
  };
  if (name.empty()) return std::nullopt;
  if (name.find('/') != std::string::npos) return executable(name) ? std::optional(name) : std::nullopt;
  std::size_t start = 0;
  while (start <= search_path.size()) {
    const auto end = std::min(search_path.find(':', start), search_path.size());
    // An empty entry means the current directory, as for execvp. Built by append: g++ 12 warns
    // falsely (-Wrestrict) on operator+ and on assigning a literal here.
    std::string candidate(end > start ? std::string_view(search_path).substr(start, end - start) : std::string_view("."));
    candidate.append("/").append(name);
    if (executable(candidate)) return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

std::vector<std::string> inherited_environment() {
  std::vector<std::string> env;
  for (const char* name : {"HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER"}) {
    // NOLINTNEXTLINE(concurrency-mt-unsafe): read once at start-up; graceway never sets variables
    if (const char* value = std::getenv(name)) env.push_back(std::string(name).append("=").append(value));
  }
  return env;
}

}  // namespace graceway::gateway
