#include "gateway/stdio_gateway.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "gateway/child_process.hpp"
#include "graceway/duration.hpp"
#include "graceway/logging.hpp"
#include "mcp/protocol.hpp"
#include "transport/error_mapping.hpp"

namespace graceway {

namespace gateway {
// graceway's own PATH: where the command is looked up, once, at start-up.
std::string search_path() {
  const char* path = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe): graceway never sets variables
  return path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
}
}  // namespace gateway

std::vector<std::string> validate(const StdioGatewayOptions& options) {
  std::vector<std::string> problems;
  if (options.command.empty()) {
    problems.emplace_back("--stdio needs a command after --");
  } else if (!gateway::resolve_executable(options.command.front(), gateway::search_path())) {
    problems.push_back("--stdio: '" + options.command.front() + "' is not an executable file (looked up in PATH)");
  }
  for (const auto& entry : options.env) {
    const auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) problems.push_back("--stdio-env '" + entry + "' must be NAME=VALUE");
  }
  if (options.max_line_bytes < 1024) problems.emplace_back("--stdio-max-line-bytes must be at least 1024");
  if (options.max_stdin_bytes < options.max_line_bytes) {
    problems.emplace_back("--stdio-max-stdin-bytes must be at least --stdio-max-line-bytes");
  }
  if (options.stop_timeout.count() <= 0) problems.emplace_back("--stdio-stop-timeout must be positive");
  if (options.max_children == 0) problems.emplace_back("--max-children must be positive");
  if (options.unready_after_failures <= 0) problems.emplace_back("the readiness failure count must be positive");
  return problems;
}

namespace gateway {
namespace {

namespace net = boost::asio;
using nlohmann::json;
using error_code = boost::system::error_code;

std::shared_ptr<spdlog::logger> log() {
  static const auto logger = logging::get("graceway.gateway");
  return logger;
}

constexpr std::size_t kReadChunk = std::size_t{64} * 1024;
// A child's stderr is its log: each line goes into graceway's, at most this many a second per
// child (the rest are counted and summarised), each cut at kStderrLineBytes.
constexpr int kStderrLinesPerSecond = 50;
constexpr std::size_t kStderrLineBytes = 2048;
// How long after a child exits its stdout may still deliver lines (see on_exit).
constexpr auto kExitReadGrace = std::chrono::seconds(1);

std::string expand_session(std::string value, const std::string& session_id) {
  static constexpr std::string_view kPlaceholder = "{session}";
  for (auto at = value.find(kPlaceholder); at != std::string::npos; at = value.find(kPlaceholder, at + session_id.size())) {
    value.replace(at, kPlaceholder.size(), session_id);
  }
  return value;
}

std::string describe_spawn_failure(const SpawnOutcome& outcome) {
  return std::string(outcome.step) + ": " + std::error_code(outcome.error, std::system_category()).message();
}

// Splits a pipe's bytes into lines on '\n' (never inside a UTF-8 sequence), dropping a trailing
// '\r'. A line keeps at most `limit` bytes: `on_overflow()` runs once, when the line under way
// first goes over; `on_line(line, overflowed)` when it ends. With `keep_prefix` an overflowing
// line keeps its first `limit` bytes, else it keeps none (it will be skipped).
struct LineSplitter {
  std::string line;  // the line under way
  bool overflowed = false;

  template <class OnLine, class OnOverflow>
  void feed(std::string_view bytes, std::size_t limit, bool keep_prefix, OnLine&& on_line, OnOverflow&& on_overflow) {
    while (!bytes.empty()) {
      const auto nl = bytes.find('\n');
      const auto piece = bytes.substr(0, nl);
      if (!overflowed && line.size() + piece.size() > limit) {
        overflowed = true;
        if (keep_prefix) {
          line.append(piece.substr(0, limit - line.size()));
        } else {
          line.clear();
        }
        on_overflow();
      } else if (!overflowed) {
        line.append(piece);
      }
      if (nl == std::string_view::npos) return;
      bytes.remove_prefix(nl + 1);
      std::string done = std::move(line);
      line.clear();
      if (!done.empty() && done.back() == '\r') done.pop_back();
      on_line(std::move(done), std::exchange(overflowed, false));
    }
  }
};

// A request graceway forwarded to the child and has not seen answered.
struct Pending {
  jsonrpc::RequestId id;
  std::shared_ptr<Outbox> reply;
  InFlightGuard guard;
  std::optional<json> progress_token;
  std::uint64_t order = 0;  // admission order: the oldest pending request carries unrelated messages
  bool initialize = false;
  std::unique_ptr<std::stop_callback<std::function<void()>>> on_stop;
};

}  // namespace

// One child and everything about it. Descriptors, buffers and `pending` are I/O thread only.
struct Child : std::enable_shared_from_this<Child> {
  Child(net::io_context& io, std::string id, std::weak_ptr<Session> owner, const ChildHandles& handles)
      : session_id(std::move(id)), session(std::move(owner)), pid(handles.pid),
        in(io, handles.stdin_fd), out(io, handles.stdout_fd), err(io, handles.stderr_fd), exit_watch(io, handles.pidfd),
        stop_timer(io), started(std::chrono::steady_clock::now()) {}

  const std::string session_id;
  const std::weak_ptr<Session> session;
  const pid_t pid;  // also the id of its process group
  net::posix::stream_descriptor in;
  net::posix::stream_descriptor out;
  net::posix::stream_descriptor err;
  net::posix::stream_descriptor exit_watch;  // the pidfd: readable once the child has exited
  net::steady_timer stop_timer;
  const std::chrono::steady_clock::time_point started;

  std::unordered_map<std::string, Pending> pending;  // by jsonrpc::key_of(id)
  std::uint64_t next_order = 0;

  LineSplitter out_lines;  // a line over --stdio-max-line-bytes is skipped
  LineSplitter err_lines;  // a line over kStderrLineBytes is cut
  std::array<char, kReadChunk> out_chunk{};
  std::array<char, kReadChunk> err_chunk{};

  std::deque<std::string> to_write;  // whole lines, newline included
  std::size_t queued_bytes = 0;
  bool writing = false;
  bool stdin_closed = false;
  bool close_stdin_when_flushed = false;

  bool draining = false;        // its session is draining
  bool session_closed = false;  // its session closed: the child is being stopped
  bool exited = false;          // reaped; its status is in wait_status
  bool stdout_eof = false;
  bool finished = false;        // its pending requests settled, its descriptors closed
  int wait_status = 0;
  int escalation = 0;           // 0: stdin closed; 1: SIGTERM sent; 2: SIGKILL sent

  std::chrono::steady_clock::time_point stderr_window{};
  int stderr_lines_in_window = 0;
  std::uint64_t stderr_suppressed = 0;
  bool warned_not_json = false;
};

struct StdioGateway::Impl {
  Impl(StdioGatewayOptions opts, Metrics& m)
      : options(std::move(opts)),
        path(options.command.empty() ? std::string()
                                     : resolve_executable(options.command.front(), search_path()).value_or(options.command.front())),
        metrics(m), work(net::make_work_guard(io)) {}

  const StdioGatewayOptions options;
  const std::string path;  // the command, resolved once at start-up
  const std::vector<std::string> inherited = inherited_environment();  // read once, at start-up
  Metrics& metrics;
  FailureStreak failures{options.unready_after_failures};  // spawn or initialize failures
  net::io_context io;
  net::executor_work_guard<net::io_context::executor_type> work;
  std::thread thread;  // runs `io`; joined by stop()

  mutable std::mutex mu;        // guards the fields below
  std::condition_variable reaped;  // notified when a child leaves `children`
  std::unordered_map<std::string, std::shared_ptr<Child>> children;  // by session id, until reaped
  std::size_t reserved = 0;     // spawns under way, counted against --max-children
  bool stopped = false;

  // --- called from any thread -------------------------------------------------------------
  std::shared_ptr<Child> find(const std::string& session_id) const {
    std::lock_guard lock(mu);
    const auto it = children.find(session_id);
    return it == children.end() ? nullptr : it->second;
  }

  std::vector<std::string> child_environment(const std::string& session_id) const {
    auto env = inherited;
    for (const auto& entry : options.env) {
      const auto name = entry.substr(0, entry.find('=') + 1);
      std::erase_if(env, [&](const std::string& e) { return e.starts_with(name); });  // configured wins
      env.push_back(expand_session(entry, session_id));
    }
    return env;
  }

  // --- I/O thread only --------------------------------------------------------------------
  void read_stdout(const std::shared_ptr<Child>& child) {
    child->out.async_read_some(net::buffer(child->out_chunk), [this, child](const error_code& ec, std::size_t n) {
      if (n > 0) take_stdout(*child, std::string_view(child->out_chunk.data(), n));
      if (!ec) return read_stdout(child);
      child->stdout_eof = true;
      if (child->exited) return finish(child);
      if (child->session_closed) return;  // being stopped: its exit follows
      // A dying child closes stdout just before the kernel reports its exit: wait for that. If it
      // keeps running, nothing it answers can reach us any more: fail what it has pending and end
      // the session (which stops the child) rather than let requests hang.
      child->stop_timer.expires_after(kExitReadGrace);
      child->stop_timer.async_wait([this, child](const error_code& timer) {
        if (timer || child->exited || child->session_closed) return;
        log()->warn("session {}: its MCP server (pid {}) closed its stdout but runs on; the session ends",
                    child->session_id, child->pid);
        fail_pending(*child, "it closed its stdout", {{"reason", "child_closed_stdout"}});
        end_session(*child);
      });
    });
  }

  void read_stderr(const std::shared_ptr<Child>& child) {
    child->err.async_read_some(net::buffer(child->err_chunk), [this, child](const error_code& ec, std::size_t n) {
      if (n > 0) take_stderr(*child, std::string_view(child->err_chunk.data(), n));
      if (!ec) read_stderr(child);
    });
  }

  void watch_exit(const std::shared_ptr<Child>& child) {
    child->exit_watch.async_wait(net::posix::descriptor_base::wait_read, [this, child](const error_code& ec) {
      if (ec == net::error::operation_aborted) return;
      on_exit(child);
    });
  }

  void take_stdout(Child& child, std::string_view bytes) {
    child.out_lines.feed(
        bytes, options.max_line_bytes, false,
        [&](const std::string& line, bool overflowed) {
          if (!overflowed && !line.empty()) on_line(child, line);
        },
        [&] {
          ++metrics.child_stdout_oversized;
          log()->warn("session {}: its MCP server wrote a stdout line over {} bytes; skipped", child.session_id,
                      options.max_line_bytes);
        });
  }

  void take_stderr(Child& child, std::string_view bytes) {
    child.err_lines.feed(
        bytes, kStderrLineBytes, true, [&](const std::string& line, bool) { log_stderr(child, line); }, [] {});
  }

  void log_stderr(Child& child, const std::string& line) {
    ++metrics.child_stderr_lines;
    const auto now = std::chrono::steady_clock::now();
    if (now - child.stderr_window >= std::chrono::seconds(1)) {
      if (child.stderr_suppressed > 0) {
        log()->warn("session {}: {} stderr line(s) of its MCP server not logged (over {} a second)", child.session_id,
                    child.stderr_suppressed, kStderrLinesPerSecond);
      }
      child.stderr_window = now;
      child.stderr_lines_in_window = 0;
      child.stderr_suppressed = 0;
    }
    if (++child.stderr_lines_in_window > kStderrLinesPerSecond) {
      ++child.stderr_suppressed;
      ++metrics.child_stderr_suppressed;
      return;
    }
    log()->info("session {}: [server stderr] {}", child.session_id, line);
  }

  void on_line(Child& child, const std::string& line) {
    auto value = parse_server_message(line);
    if (value.is_discarded() || !value.is_object()) {
      ++metrics.child_stdout_not_json;
      if (!std::exchange(child.warned_not_json, true)) {
        log()->warn("session {}: its MCP server wrote a stdout line that is not a JSON-RPC message; skipped "
                    "(further ones are counted in graceway_child_stdout_not_json_total)",
                    child.session_id);
      }
      return;
    }
    const auto message = jsonrpc::classify(value);
    switch (message.kind) {
      case jsonrpc::Kind::response:
      case jsonrpc::Kind::error_response: return on_response(child, message, std::move(value));
      case jsonrpc::Kind::notification: return on_notification(child, message, value);
      case jsonrpc::Kind::request: return on_server_request(child, message, value);
      case jsonrpc::Kind::invalid:
        ++metrics.child_stdout_not_json;
        log()->debug("session {}: an invalid JSON-RPC message from its MCP server skipped: {}", child.session_id,
                     message.detail);
        return;
    }
  }

  void on_response(Child& child, const jsonrpc::Message& message, json value) {
    const auto key = message.id ? jsonrpc::key_of(*message.id) : std::string();
    const auto it = child.pending.find(key);
    if (it == child.pending.end()) {
      ++metrics.late_results;
      log()->debug("session {}: a response from its MCP server answers nothing pending (id {}); dropped",
                   child.session_id, key.empty() ? "null" : key);
      return;
    }
    Pending request = std::move(it->second);
    child.pending.erase(it);
    bool close_session = false;
    if (request.initialize) close_session = !accept_initialize(child, message, value);
    request.reply->complete(key, value);
    request.guard.release();
    if (close_session) end_session(child);
  }

  // The child's answer to the client's initialize. False when the session cannot go on.
  bool accept_initialize(Child& child, const jsonrpc::Message& message, json& value) {
    const auto session = child.session.lock();
    if (!session) return false;
    const auto why = gateway::accept_initialize(*session, message);
    if (!why) {
      failures.succeeded();
      return true;
    }
    log()->warn("session {}: {}", child.session_id, *why);
    failures.failed(*why);
    if (message.kind != jsonrpc::Kind::error_response) value = error_response(errc::server_failed, message.id, *why);
    return false;
  }

  // Progress goes to the stream of the request that carried its token; log messages and the
  // child's own cancellations to the oldest pending request that streams, else the GET stream;
  // everything else (list changes, resource updates) to the GET stream. One stream, never two.
  void on_notification(Child& child, const jsonrpc::Message& message, const json& value) {
    if (message.method == "notifications/progress") {
      const json token = message.params.is_object() ? message.params.value("progressToken", json()) : json();
      for (auto& [key, request] : child.pending) {
        if (request.progress_token && *request.progress_token == token) {
          if (!request.reply->push(value)) ++metrics.child_messages_undelivered;
          return;
        }
      }
      ++metrics.child_messages_undelivered;
      return;
    }
    const bool request_related = message.method == "notifications/message" || message.method == "notifications/cancelled";
    if (!deliver(child, value, request_related)) ++metrics.child_messages_undelivered;
  }

  // Sampling, elicitation, roots: the child waits for the answer, so one that no stream can carry
  // is answered with an error at once rather than left hanging.
  void on_server_request(Child& child, const jsonrpc::Message& message, const json& value) {
    if (deliver(child, value, true)) return;
    ++metrics.child_messages_undelivered;
    log()->debug("session {}: its MCP server sent {} with no client stream open; answered with an error",
                 child.session_id, message.method);
    write(child, jsonrpc::make_error(message.id, -32603, "no client stream is open to carry this request"));
  }

  bool deliver(Child& child, const json& value, bool request_related) {
    if (request_related) {
      const Pending* oldest = nullptr;
      for (const auto& [key, request] : child.pending) {
        if (request.reply->streams() && !request.reply->gone() && (oldest == nullptr || request.order < oldest->order)) {
          oldest = &request;
        }
      }
      if (oldest != nullptr && oldest->reply->push(value)) return true;
    }
    const auto session = child.session.lock();
    return session && session->notify(value);
  }

  // --- client to child ----------------------------------------------------------------------
  // Queues one line for the child's stdin. False when it cannot take it (stdin closed, or over
  // --stdio-max-stdin-bytes: the overflow policy refuses the message and counts it).
  bool write(Child& child, const json& message) {
    if (child.stdin_closed || child.close_stdin_when_flushed) return false;
    auto line = jsonrpc::serialize(message);
    line.push_back('\n');
    if (child.queued_bytes + line.size() > options.max_stdin_bytes) {
      ++metrics.child_stdin_overflows;
      log()->warn("session {}: its MCP server is not reading its stdin ({} bytes waiting); a message was refused",
                  child.session_id, child.queued_bytes);
      return false;
    }
    child.queued_bytes += line.size();
    child.to_write.push_back(std::move(line));
    flush(child.shared_from_this());
    return true;
  }

  void flush(const std::shared_ptr<Child>& child) {
    if (child->writing || child->stdin_closed) return;
    if (child->to_write.empty()) {
      if (child->close_stdin_when_flushed) close_stdin(*child);
      return;
    }
    child->writing = true;
    net::async_write(child->in, net::buffer(child->to_write.front()), [this, child](const error_code& ec, std::size_t) {
      child->writing = false;
      child->queued_bytes -= child->to_write.front().size();
      child->to_write.pop_front();
      if (ec) {
        // EPIPE: the child closed its stdin or died; its exit (if any) is handled by the pidfd.
        log()->debug("session {}: writing to its MCP server failed: {}", child->session_id, ec.message());
        child->to_write.clear();
        child->queued_bytes = 0;
        close_stdin(*child);
        return;
      }
      flush(child);
    });
  }

  void close_stdin(Child& child) {
    if (std::exchange(child.stdin_closed, true)) return;
    error_code ignored;
    child.in.close(ignored);
  }

  void forward_request(const std::shared_ptr<Child>& child, jsonrpc::Message request, std::shared_ptr<Outbox> reply,
                       InFlightGuard guard, const std::stop_token& stop) {
    const auto key = jsonrpc::key_of(*request.id);
    if (child->exited || child->session_closed || !write(*child, jsonrpc::encode(request))) {
      const char* why = child->exited ? "it has exited" : "it cannot take input now";
      reply->complete(key, error_response(errc::server_failed, request.id, why));
      guard.release();
      if (request.method == "initialize") {
        failures.failed("the MCP server of session " + child->session_id + " took no initialize: " + why);
        end_session(*child);
      }
      return;
    }
    Pending entry{.id = *request.id,
                  .reply = std::move(reply),
                  .guard = std::move(guard),
                  .progress_token = mcp::progress_token(request.params),
                  .order = child->next_order++,
                  .initialize = request.method == "initialize",
                  .on_stop = nullptr};
    auto& slot = child->pending.emplace(key, std::move(entry)).first->second;
    // Stopped by notifications/cancelled, the drain deadline, or a client that left: tell the child.
    slot.on_stop = std::make_unique<std::stop_callback<std::function<void()>>>(
        stop, std::function<void()>([this, weak = std::weak_ptr<Child>(child), key] {
          net::post(io, [this, weak, key] {
            if (const auto c = weak.lock()) request_stopped(*c, key);
          });
        }));
  }

  void request_stopped(Child& child, const std::string& key) {
    const auto it = child.pending.find(key);
    if (it == child.pending.end()) return;
    const json id = jsonrpc::to_json(it->second.id);
    const bool initialize = it->second.initialize;
    // Settled already when the client cancelled or the window ended (then this is a no-op); a
    // client that left a batch stream still needs the slot closed for a resume to end.
    it->second.reply->complete(key, error_response(errc::request_cancelled, it->second.id));
    child.pending.erase(it);
    const auto session = child.session.lock();
    const char* reason = !session || session->state() == SessionState::closed ? "the session's drain window ended"
                                                                               : "the client cancelled or left";
    write(child, jsonrpc::make_notification("notifications/cancelled", {{"requestId", id}, {"reason", reason}}));
    log()->debug("session {}: request {} stopped; its MCP server was sent notifications/cancelled ({})",
                 child.session_id, key, reason);
    if (initialize) end_session(child);  // a session whose initialize never finished cannot go on
  }

  // --- the end of a child -------------------------------------------------------------------
  void end_session(Child& child) {
    if (const auto session = child.session.lock()) session->begin_drain(EndReason::server_gone, std::chrono::milliseconds(0));
  }

  // The session closed: EOF first, then SIGTERM and SIGKILL to the group, --stdio-stop-timeout apart.
  void begin_stop(const std::shared_ptr<Child>& child) {
    if (child->exited || !mark_stopping(*child)) return;
    child->close_stdin_when_flushed = true;
    flush(child);
    arm_escalation(child);
  }

  // The gauges follow the child from draining (or live) to being stopped. False if it already was.
  bool mark_stopping(Child& child) {
    if (std::exchange(child.session_closed, true)) return false;
    ++metrics.children_stopping;
    if (child.draining) --metrics.children_draining;
    return true;
  }

  void arm_escalation(const std::shared_ptr<Child>& child) {
    child->stop_timer.expires_after(options.stop_timeout);
    child->stop_timer.async_wait([this, child](const error_code& ec) {
      if (ec || child->exited) return;
      const int signal = child->escalation == 0 ? SIGTERM : SIGKILL;
      log()->warn("session {}: its MCP server (pid {}) is still running {} after {}; {} to its process group",
                  child->session_id, child->pid, format_duration(options.stop_timeout),
                  child->escalation == 0 ? "stdin closed" : "SIGTERM", signal == SIGTERM ? "SIGTERM" : "SIGKILL");
      ::kill(-child->pid, signal);
      close_stdin(*child);  // a child that ignores EOF may also leave its stdin unread
      if (++child->escalation < 2) arm_escalation(child);
    });
  }

  // The pidfd fired: reap it. Its last lines may still be in the stdout pipe, so the requests it
  // left are settled once stdout reaches EOF (soon: its whole group is killed here), or after
  // kExitReadGrace if something outside the group holds the pipe.
  void on_exit(const std::shared_ptr<Child>& child) {
    if (std::exchange(child->exited, true)) return;
    // Whatever it left in its group (a shell's background job, a grandchild) goes with it.
    child->wait_status = kill_group_and_reap(child->pid);
    if (child->stdout_eof) return finish(child);
    child->stop_timer.cancel();
    child->stop_timer.expires_after(kExitReadGrace);
    child->stop_timer.async_wait([this, child](const error_code& ec) {
      if (!ec) finish(child);
    });
  }

  void finish(const std::shared_ptr<Child>& child) {
    if (std::exchange(child->finished, true)) return;
    child->stop_timer.cancel();
    --metrics.children_live;
    const bool expected = child->session_closed;
    if (expected) {
      --metrics.children_stopping;
    } else if (child->draining) {
      --metrics.children_draining;
    }
    const int status = child->wait_status;
    json data = {{"reason", "child_exited"}};
    std::string cause;
    if (WIFSIGNALED(status)) {
      data["signal"] = WTERMSIG(status);
      cause = "was killed by signal " + std::to_string(WTERMSIG(status));
    } else {
      data["exit_code"] = WEXITSTATUS(status);
      cause = "exited with code " + std::to_string(WEXITSTATUS(status));
    }
    const auto lived = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - child->started);
    auto pending = std::move(child->pending);
    child->pending.clear();
    error_code ignored;
    child->out.close(ignored);
    child->err.close(ignored);
    child->exit_watch.close(ignored);
    close_stdin(*child);
    {
      // Its --max-children slot is free before anyone can read the line below.
      std::lock_guard lock(mu);
      children.erase(child->session_id);
    }
    reaped.notify_all();
    if (expected) {
      log()->info("session {}: its MCP server (pid {}) {}; reaped after {}", child->session_id, child->pid, cause,
                  format_duration(lived));
    } else {
      if (WIFSIGNALED(status)) {
        ++metrics.child_crashes_signal;
      } else {
        ++metrics.child_crashes_exit;
      }
      log()->warn("session {}: its MCP server (pid {}) {} before its session closed; {} pending request(s) failed",
                  child->session_id, child->pid, cause, pending.size());
    }
    fail_pending(std::move(pending), *child, "it " + cause, data);
    // The next request gets 404, and the client re-initializes into a new child.
    if (!expected) end_session(*child);
  }

  // Answers every request the child left with -32603 naming `why` (and `data`).
  void fail_pending(Child& child, const std::string& why, const json& data) {
    auto pending = std::move(child.pending);
    child.pending.clear();
    fail_pending(std::move(pending), child, why, data);
  }

  void fail_pending(std::unordered_map<std::string, Pending>&& pending, const Child& child, const std::string& why,
                    const json& data) {
    bool initializing = false;
    for (auto& [key, request] : pending) {
      initializing = initializing || request.initialize;
      request.on_stop.reset();
      request.reply->complete(key, error_response(errc::server_failed, request.id, why, data));
      request.guard.release();
    }
    if (initializing) {
      failures.failed("the MCP server of session " + child.session_id + ": " + why.substr(why.starts_with("it ") ? 3 : 0) +
                     ", before answering initialize");
    }
  }

};

StdioGateway::StdioGateway(StdioGatewayOptions options, Metrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), metrics)) {}

StdioGateway::~StdioGateway() { stop(std::chrono::steady_clock::now()); }

std::chrono::milliseconds StdioGateway::stop_budget() const {
  // Two stop timeouts, the second after stdout's last read, plus room for timer latency.
  return 2 * impl_->options.stop_timeout + std::chrono::seconds(3);
}

void StdioGateway::start() {
  // A write to the stdin of a child that died must fail with EPIPE, not kill graceway.
  ::signal(SIGPIPE, SIG_IGN);
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

void StdioGateway::stop(std::chrono::steady_clock::time_point deadline) {
  auto& s = *impl_;
  {
    std::unique_lock lock(s.mu);
    if (std::exchange(s.stopped, true)) return;
    s.reaped.wait_until(lock, deadline, [&] { return s.children.empty() && s.reserved == 0; });
  }
  if (s.thread.joinable()) {
    // Whatever is left is killed now and reaped on the I/O thread, which then ends.
    net::post(s.io, [&s] {
      std::vector<std::shared_ptr<Child>> left;
      {
        std::lock_guard lock(s.mu);
        for (auto& [id, child] : s.children) left.push_back(child);
      }
      for (auto& child : left) {
        log()->warn("session {}: its MCP server (pid {}) is still running at shutdown; SIGKILL to its process group",
                    child->session_id, child->pid);
        if (!child->exited) s.mark_stopping(*child);
        s.on_exit(child);  // kills the group, reaps
        s.finish(child);
      }
      s.work.reset();
      s.io.stop();
    });
    s.thread.join();
  }
}

std::optional<mcp::MessageHandler::Refusal> StdioGateway::open_session(const std::shared_ptr<Session>& session) {
  auto& s = *impl_;
  {
    std::lock_guard lock(s.mu);
    if (s.stopped) return Refusal{errc::server_draining, {}};
    if (s.children.size() + s.reserved >= s.options.max_children) {
      ++s.metrics.child_spawn_failures;
      log()->warn("session {}: not started: {} MCP servers are running (--max-children)", session->id(),
                  s.options.max_children);
      return Refusal{errc::server_unavailable, std::to_string(s.options.max_children) + " are running (--max-children)"};
    }
    ++s.reserved;
  }
  // The slot is given back however this ends (a throw included).
  struct Reservation {
    StdioGateway::Impl& s;
    ~Reservation() {
      {
        std::lock_guard lock(s.mu);
        --s.reserved;
      }
      s.reaped.notify_all();
    }
  };
  std::shared_ptr<Child> child;
  SpawnOutcome outcome;
  bool gateway_stopped = false;
  {
    const Reservation reservation{s};
    outcome = spawn_child(s.path, s.options.command, s.child_environment(session->id()));
    if (outcome.child) {
      try {
        child = std::make_shared<Child>(s.io, session->id(), session, *outcome.child);
      } catch (const std::exception& e) {
        log()->error("session {}: its MCP server (pid {}) started but cannot be watched: {}", session->id(),
                     outcome.child->pid, e.what());
        // The descriptors already wrapped were closed by the unwinding; closing any here could
        // close a number reused meanwhile, so the rest are left (this is out-of-memory ground).
        kill_group_and_reap(outcome.child->pid);
        return Refusal{errc::server_unavailable, e.what()};
      }
      std::lock_guard lock(s.mu);
      gateway_stopped = s.stopped;
      if (!gateway_stopped) s.children.emplace(session->id(), child);
    }
  }
  if (gateway_stopped) {  // stop() ran meanwhile: nothing will ever stop this child but us
    child.reset();        // closes its descriptors
    kill_group_and_reap(outcome.child->pid);
    return Refusal{errc::server_draining, {}};
  }
  if (!child) {
    ++s.metrics.child_spawn_failures;
    const auto why = describe_spawn_failure(outcome);
    log()->error("session {}: its MCP server {} could not be started: {}", session->id(), s.path, why);
    if (outcome.resource_limit()) return Refusal{errc::server_unavailable, why};
    s.failures.failed("could not start " + s.path + ": " + why);
    return Refusal{errc::server_failed, "it could not be started: " + why};
  }
  ++s.metrics.child_spawns;
  ++s.metrics.children_live;
  log()->info("session {}: started its MCP server (pid {}): {}", session->id(), child->pid, s.path);
  net::post(s.io, [&s, child] {
    s.read_stdout(child);
    s.read_stderr(child);
    s.watch_exit(child);
    // A session that closed while its child was being started found no child to stop.
    const auto owner = child->session.lock();
    if (!owner || owner->state() == SessionState::closed) s.begin_stop(child);
  });
  return std::nullopt;
}

void StdioGateway::session_changed(const std::string& id, SessionState /*from*/, SessionState to) {
  auto& s = *impl_;
  auto child = s.find(id);
  if (!child) return;
  net::post(s.io, [&s, child, to] {
    // A late "draining" (its thread lost the race with the close) must not count a stopping child.
    if (to == SessionState::draining && !child->exited && !child->session_closed && !std::exchange(child->draining, true)) {
      ++s.metrics.children_draining;
    }
    if (to == SessionState::closed) s.begin_stop(child);
  });
}

std::optional<std::string> StdioGateway::unready_reason() const {
  auto& s = *impl_;
  return s.failures.unready_reason("MCP server start or initialize failures");
}

void StdioGateway::handle_request(const std::shared_ptr<Session>& session, const jsonrpc::Message& request,
                                  const std::shared_ptr<Outbox>& reply, InFlightGuard guard, std::stop_token stop) {
  auto& s = *impl_;
  auto child = s.find(session->id());
  if (!child) {
    reply->complete(jsonrpc::key_of(*request.id), error_response(errc::server_failed, request.id, "it is gone"));
    return;
  }
  net::post(s.io, [&s, child, message = request, reply, guard = std::move(guard), stop = std::move(stop)]() mutable {
    s.forward_request(child, std::move(message), reply, std::move(guard), stop);
  });
}

void StdioGateway::handle_notification(Session& session, const jsonrpc::Message& notification) {
  session.touch();
  if (absorb_cancellation(session, notification)) return;
  if (notification.method == "notifications/initialized") session.mark_initialized();
  auto& s = *impl_;
  auto child = s.find(session.id());
  if (!child) return;
  net::post(s.io, [&s, child, message = jsonrpc::encode(notification)] {
    if (!child->exited) s.write(*child, message);
  });
}

void StdioGateway::handle_response(Session& session, const jsonrpc::Message& response) {
  session.touch();
  auto& s = *impl_;
  auto child = s.find(session.id());
  if (!child) return;
  net::post(s.io, [&s, child, message = jsonrpc::encode(response)] {
    if (!child->exited) s.write(*child, message);
  });
}

}  // namespace gateway
}  // namespace graceway
