// graceway-loadgen: the session-aware load generator of bench/ (docs/performance.md). It speaks
// MCP Streamable HTTP to graceway or to any other server, keeps keep-alive connections, checks
// every answer, and reports throughput, latency percentiles, failures, and its own CPU next to
// the server's so that it is never the hidden bottleneck.
//
//   graceway-loadgen echo     --url URL --sessions 64 --clients 64 --duration 10
//   graceway-loadgen churn    --url URL --clients 64 --duration 10
//   graceway-loadgen idle     --url URL --pid PID --sessions 10000
//   graceway-loadgen streams  --url URL --streams 10000 --sessions 64 --clients 64 --duration 10
//   graceway-loadgen delete   --url URL --inflight 100 --rounds 30
//   graceway-loadgen shutdown --graceway BIN --inflight 50 --work-ms 1000
//   graceway-loadgen http     --url URL --clients 64 --duration 10     (any POST endpoint: nginx)
//   graceway-loadgen open     --url URL --sessions 64                  (prints their ids, for wrk)
//   graceway-loadgen maxconn  --url URL --streams 64 --clients 200     (beyond --max-connections)
//
// With --graceway BIN instead of --url, the generator starts that binary on a free loopback port
// (extra flags with --server-arg) and reads its CPU, memory and threads itself. An https:// URL
// speaks TLS (echo, churn, http, open: the modes on keep-alive connections), checking the
// server's certificate against --ca-file when given. One JSON object goes to stdout; a readable
// line to stderr. Exits 1 when any request failed or was lost.
//
// The GET streams of `streams` and `maxconn` are held by one epoll thread on raw non-blocking
// sockets (StreamHolder), so ten thousand of them cost the generator a descriptor each, not a
// thread each.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <functional>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "replay/child_process.hpp"
#include "replay/http_exchange.hpp"
#include "replay/target.hpp"

namespace {

using namespace graceway::replay;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* kProtocolVersion = "2025-06-18";

struct Options {
  std::string mode;
  std::string url;
  std::string graceway;
  std::vector<std::string> server_args;
  int pid = 0;
  int sessions = 1;
  int clients = 1;
  int streams = 1000;
  double duration_s = 10;
  double warmup_s = 1;
  int inflight = 100;
  int rounds = 30;
  int work_ms = 300;
  std::string tool = "echo";
  std::string label;
  double open_timeout_s = 120;
  int max_pending = 256;
};

// TLS of the keep-alive connections (an https:// --url): set once in main, before any thread.
struct ClientTls {
  bool on = false;
  std::string ca_file;  // empty: the certificate is not checked
};
ClientTls client_tls;

// ---------------------------------------------------------------------------------------------
// CPU and memory of this process and of the server

double self_cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

// utime + stime of another process, from /proc/PID/stat; nullopt when it cannot be read.
std::optional<double> process_cpu_seconds(int pid) {
  if (pid <= 0) return std::nullopt;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close_paren = stat.rfind(')');  // the command name may hold spaces
  if (close_paren == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close_paren + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {  // fields 14 and 15: utime, stime
    if (i == 14 || i == 15) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// A numeric field of /proc/PID/status ("VmRSS:" in KiB, "Threads:"); nullopt when it cannot be read.
std::optional<double> process_status_field(int pid, const std::string& field) {
  if (pid <= 0) return std::nullopt;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::stod(line.substr(field.size()));
  }
  return std::nullopt;
}
std::optional<double> process_rss_kib(int pid) { return process_status_field(pid, "VmRSS:"); }
std::optional<double> process_threads(int pid) { return process_status_field(pid, "Threads:"); }

// Enough descriptors for ten thousand streams on both sides of the loopback.
void raise_fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

// ---------------------------------------------------------------------------------------------
// One MCP client connection (keep-alive)

// The JSON-RPC message answering `id` in a JSON or SSE body; nullopt when there is none.
std::optional<json> find_response(const std::string& body, std::int64_t id) {
  auto matches = [id](const json& m) { return m.is_object() && m.contains("id") && m["id"] == id; };
  const auto first = body.find_first_not_of(" \r\n\t");
  if (first != std::string::npos && body[first] == '{') {
    json m = json::parse(body, nullptr, false);
    if (matches(m)) return m;
    return std::nullopt;
  }
  std::size_t pos = 0;
  while ((pos = body.find("data:", pos)) != std::string::npos) {
    if (pos != 0 && body[pos - 1] != '\n') {
      pos += 5;
      continue;
    }
    const auto end = body.find('\n', pos);
    json m = json::parse(body.substr(pos + 5, end == std::string::npos ? std::string::npos : end - pos - 5), nullptr, false);
    if (matches(m)) return m;
    if (end == std::string::npos) break;
    pos = end;
  }
  return std::nullopt;
}

// Request ids are unique in the process: connections share sessions, and a session refuses an id
// that is already in flight.
std::int64_t next_request_id() {
  static std::atomic<std::int64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

json initialize_request(std::int64_t id) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", "initialize"},
          {"params", {{"protocolVersion", kProtocolVersion}, {"capabilities", json::object()},
                      {"clientInfo", {{"name", "graceway-loadgen"}, {"version", "1"}}}}}};
}

class McpConnection {
public:
  explicit McpConnection(const Target& target)
      : target_(target), http_((client_tls.on ? "https://" : "http://") + target.host + ":" + std::to_string(target.port)) {
    if (client_tls.on) {
      http_.enable_server_certificate_verification(!client_tls.ca_file.empty());
      if (!client_tls.ca_file.empty()) http_.set_ca_cert_path(client_tls.ca_file.c_str());
    }
    http_.set_keep_alive(true);
    http_.set_tcp_nodelay(true);
    http_.set_connection_timeout(std::chrono::seconds(10));
    http_.set_read_timeout(std::chrono::seconds(60));
    http_.set_write_timeout(std::chrono::seconds(10));
  }

  // initialize + notifications/initialized; the new session id, or empty on failure.
  std::string open_session() {
    const json init = initialize_request(next_request_id());
    auto res = http_.Post(target_.path, headers(""), init.dump(), "application/json");
    if (!answered(res, 200, "initialize")) return {};
    std::string session = res->get_header_value("Mcp-Session-Id");
    if (session.empty() || !find_response(res->body, init["id"].get<std::int64_t>())) {
      fail("initialize: no session id or no result");
      return {};
    }
    const json initialized = {{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}};
    auto ack = http_.Post(target_.path, headers(session), initialized.dump(), "application/json");
    if (!answered(ack, 202, "notifications/initialized")) return {};
    return session;
  }

  // One tools/call; true when its result (not an error) came back.
  bool call(const std::string& session, const std::string& tool, const json& arguments) {
    const std::int64_t id = next_request_id();
    const json req = {{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/call"},
                      {"params", {{"name", tool}, {"arguments", arguments}}}};
    auto res = http_.Post(target_.path, headers(session), req.dump(), "application/json");
    if (!answered(res, 200, "tools/call")) return false;
    const auto m = find_response(res->body, id);
    if (m && m->contains("result") && !(*m)["result"].value("isError", false)) return true;
    if (m && m->contains("error")) return fail("tools/call: JSON-RPC error " + (*m)["error"].value("message", std::string{}));
    return fail("tools/call: no result for its id");
  }

  bool end_session(const std::string& session) {
    auto res = http_.Delete(target_.path, headers(session));
    return answered(res, 200, "DELETE") || (res && (res->status == 202 || res->status == 204));
  }

  // A POST of `body` that any 2xx answers (the nginx ceiling).
  bool post_raw(const std::string& body) {
    auto res = http_.Post(target_.path, headers(""), body, "application/json");
    return answered(res, 200, "POST");
  }

  // Why the last call failed ("tools/call: HTTP 503", "tools/call: Read"), for the report.
  [[nodiscard]] const std::string& last_error() const { return last_error_; }

private:
  httplib::Headers headers(const std::string& session) const {
    httplib::Headers h{{"Accept", "application/json, text/event-stream"}, {"MCP-Protocol-Version", kProtocolVersion}};
    if (!session.empty()) h.emplace("Mcp-Session-Id", session);
    return h;
  }

  bool fail(std::string why) {
    last_error_ = std::move(why);
    return false;
  }
  bool answered(const httplib::Result& res, int status, const char* what) {
    if (!res) return fail(std::string(what) + ": " + httplib::to_string(res.error()));
    if (res->status != status) return fail(std::string(what) + ": HTTP " + std::to_string(res->status));
    return true;
  }

  Target target_;
  httplib::Client http_;
  std::string last_error_;
};

HeaderList exchange_headers(const std::string& session, bool stream = false) {
  HeaderList h{{"Accept", stream ? "text/event-stream" : "application/json, text/event-stream"},
               {"MCP-Protocol-Version", kProtocolVersion}, {"Mcp-Session-Id", session}};
  if (!stream) h.emplace_back("Content-Type", "application/json");
  return h;
}

// ---------------------------------------------------------------------------------------------
// Measurements

// One unit of load; returns "" on success, else why it failed.
using Operation = std::function<std::string()>;

struct Samples {
  std::vector<double> latencies_ms;
  std::map<std::string, std::uint64_t> errors;  // why -> how often
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
};

double percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(rank, sorted.size() - 1)];
}

// Runs `clients` threads, each calling `one()` in a loop: `warmup` unmeasured,
// then `duration` measured. `setup(i)` runs on each thread first and gives it its operation.
template <typename Setup>
json run_load(const Options& o, int server_pid, Setup setup) {
  enum Phase : int { warmup, measure, stop };
  std::atomic<int> phase{warmup};
  std::vector<Samples> per_client(static_cast<std::size_t>(o.clients));
  std::atomic<int> setup_failures{0};
  std::latch ready(o.clients + 1);
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(o.clients));
  for (int i = 0; i < o.clients; ++i) {
    threads.emplace_back([&, i] {
      auto one = setup(i);
      if (!one) setup_failures.fetch_add(1);
      ready.count_down();
      ready.wait();
      if (!one) return;
      auto& s = per_client[static_cast<std::size_t>(i)];
      for (;;) {
        const int p = phase.load(std::memory_order_acquire);
        if (p == stop) break;
        const auto t0 = Clock::now();
        const std::string error = one();
        const auto t1 = Clock::now();
        if (!error.empty()) {  // a failure counts whenever it happens
          ++s.failed;
          ++s.errors[error];
        }
        // Only calls that started and ended inside the measured window count in the rate.
        if (p != measure) continue;
        if (phase.load(std::memory_order_acquire) == stop) break;
        s.latencies_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        if (error.empty()) ++s.ok;
      }
    });
  }
  ready.count_down();
  ready.wait();
  std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup_s));  // the run's length, not synchronisation
  const double gen0 = self_cpu_seconds();
  const auto srv0 = process_cpu_seconds(server_pid);
  const auto t0 = Clock::now();
  phase.store(measure, std::memory_order_release);
  std::this_thread::sleep_for(std::chrono::duration<double>(o.duration_s));
  phase.store(stop, std::memory_order_release);
  const auto t1 = Clock::now();
  const double gen1 = self_cpu_seconds();
  const auto srv1 = process_cpu_seconds(server_pid);
  for (auto& t : threads) t.join();

  std::vector<double> all;
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
  json errors = json::object();
  for (auto& s : per_client) {
    all.insert(all.end(), s.latencies_ms.begin(), s.latencies_ms.end());
    ok += s.ok;
    failed += s.failed;
    for (const auto& [why, n] : s.errors) errors[why] = errors.value(why, std::uint64_t{0}) + n;
  }
  std::sort(all.begin(), all.end());
  const double wall = std::chrono::duration<double>(t1 - t0).count();
  json r = {{"ok", ok},
            {"failed", failed + static_cast<std::uint64_t>(setup_failures.load())},
            {"seconds", wall},
            {"per_second", static_cast<double>(ok) / wall},
            {"p50_ms", percentile(all, 50)},
            {"p90_ms", percentile(all, 90)},
            {"p99_ms", percentile(all, 99)},
            {"max_ms", all.empty() ? 0.0 : all.back()},
            {"errors", errors},
            {"generator_cpu_cores", (gen1 - gen0) / wall}};
  if (srv0 && srv1) r["server_cpu_cores"] = (*srv1 - *srv0) / wall;
  return r;
}

// Opens `n` sessions over `clients` connections in parallel; empty strings where opening failed.
std::vector<std::string> open_sessions(const Target& target, int n, int clients) {
  std::vector<std::string> ids(static_cast<std::size_t>(n));
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < std::max(1, std::min(clients, n)); ++c) {
    threads.emplace_back([&] {
      McpConnection conn(target);
      for (int i; (i = next.fetch_add(1)) < n;) ids[static_cast<std::size_t>(i)] = conn.open_session();
    });
  }
  for (auto& t : threads) t.join();
  return ids;
}

int count_empty(const std::vector<std::string>& ids) {
  return static_cast<int>(std::count(ids.begin(), ids.end(), std::string{}));
}

// Standalone GET streams, many at once, held by one epoll thread on raw non-blocking sockets:
// a descriptor and a few hundred bytes each in the generator, no thread. At most `max_pending`
// are being opened at a time (connect, request, head), so the server's listen queue never
// overflows. After its 200 head a stream is read and discarded (keep-alive comments, events)
// until it ends; a stream whose server closes it or ends its body no longer counts as alive.
class StreamHolder {
public:
  StreamHolder(const Target& target, const std::vector<std::string>& sessions, int max_pending)
      : target_(target), max_pending_(std::max(1, max_pending)) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(target.host.c_str(), std::to_string(target.port).c_str(), &hints, &found) == 0 && found != nullptr) {
      std::memcpy(&addr_, found->ai_addr, found->ai_addrlen);
      addr_len_ = found->ai_addrlen;
      family_ = found->ai_family;
    }
    if (found != nullptr) ::freeaddrinfo(found);
    for (const auto& s : sessions) {
      if (s.empty()) continue;
      auto& st = streams_.emplace_back();
      st.request = "GET " + target.path + " HTTP/1.1\r\nHost: " + target.host + ":" + std::to_string(target.port) +
                   "\r\nAccept: text/event-stream\r\nMCP-Protocol-Version: " + kProtocolVersion +
                   "\r\nMcp-Session-Id: " + s + "\r\n\r\n";
    }
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    thread_ = std::thread([this] { loop(); });
  }
  ~StreamHolder() {
    stop();
    for (auto& st : streams_) close_fd(st);
    if (epoll_ >= 0) ::close(epoll_);
  }
  StreamHolder(const StreamHolder&) = delete;
  StreamHolder& operator=(const StreamHolder&) = delete;

  // Waits until every stream has its answer (a head, a refusal or an error) or `timeout` passes;
  // how many got 200.
  int wait_opened(std::chrono::duration<double> timeout) {
    const auto give_up = Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout);
    while (resolved_.load() < static_cast<int>(streams_.size()) && Clock::now() < give_up) {
      std::this_thread::sleep_for(milliseconds(10));  // polling the holder thread's counter
    }
    return accepted_.load();
  }

  // Stops the holder thread; the streams stay open (their descriptors close with the holder).
  void stop() {
    stopping_.store(true);
    if (thread_.joinable()) thread_.join();
  }

  // After stop(): streams that got 200 and are still open now (a last non-blocking peek catches a
  // close that came after the thread's last look).
  [[nodiscard]] int alive_now() {
    int alive = 0;
    for (auto& st : streams_) {
      if (st.state != State::open || st.ended) continue;
      char byte = 0;
      const auto n = ::recv(st.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) continue;
      ++alive;
    }
    return alive;
  }

  [[nodiscard]] int requested() const { return static_cast<int>(streams_.size()); }
  [[nodiscard]] int accepted() const { return accepted_.load(); }
  // After stop(): answers other than 200, by status ("0": connection failed or no head).
  [[nodiscard]] json refusals() const {
    json r = json::object();
    for (const auto& st : streams_) {
      if (st.state == State::waiting || st.status == 200) continue;
      const auto key = std::to_string(st.status);
      r[key] = r.value(key, 0) + 1;
    }
    return r;
  }
  [[nodiscard]] int unanswered() const {
    return static_cast<int>(streams_.size()) - resolved_.load();
  }

private:
  enum class State { waiting, connecting, sending, head, open, closed };
  struct Stream {
    int fd = -1;
    State state = State::waiting;
    int status = 0;
    bool ended = false;  // the body's last chunk came: the server ended the stream
    std::string request;
    std::size_t sent = 0;
    std::string head;
    std::string tail;  // the last bytes of the body, to see its last chunk
  };

  void close_fd(Stream& st) {
    if (st.fd >= 0) ::close(st.fd);
    st.fd = -1;
  }

  // The stream's answer is known (head, refusal or failure): counted once.
  void resolve(bool ok) {
    --pending_;
    resolved_.fetch_add(1);
    if (ok) accepted_.fetch_add(1);
  }

  void fail(Stream& st) {
    const bool was_pending = st.state != State::open;
    if (st.fd >= 0) ::epoll_ctl(epoll_, EPOLL_CTL_DEL, st.fd, nullptr);
    close_fd(st);
    st.state = State::closed;
    if (was_pending) resolve(false);
  }

  void start(std::size_t i) {
    auto& st = streams_[i];
    ++pending_;
    st.fd = ::socket(family_, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (st.fd < 0 || addr_len_ == 0) return fail(st);
    int one = 1;
    ::setsockopt(st.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    st.state = State::connecting;
    if (::connect(st.fd, reinterpret_cast<const sockaddr*>(&addr_), addr_len_) != 0 && errno != EINPROGRESS) return fail(st);
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = i;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, st.fd, &ev) != 0) return fail(st);
  }

  void on_event(std::size_t i, std::uint32_t events) {
    auto& st = streams_[i];
    if (st.state == State::closed) return;
    if (st.state == State::connecting) {
      int err = 0;
      socklen_t len = sizeof err;
      if (::getsockopt(st.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) return fail(st);
      if ((events & EPOLLOUT) == 0) return;
      st.state = State::sending;
    }
    if (st.state == State::sending) {
      while (st.sent < st.request.size()) {
        const auto n = ::send(st.fd, st.request.data() + st.sent, st.request.size() - st.sent, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n <= 0) return fail(st);
        st.sent += static_cast<std::size_t>(n);
      }
      std::string().swap(st.request);
      st.state = State::head;
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.u64 = i;
      ::epoll_ctl(epoll_, EPOLL_CTL_MOD, st.fd, &ev);
    }
    if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) == 0) return;
    char buf[4096];
    for (;;) {
      const auto n = ::recv(st.fd, buf, sizeof buf, 0);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (n <= 0) return fail(st);  // the server closed the stream (or reset it)
      std::string_view data(buf, static_cast<std::size_t>(n));
      if (st.state == State::head) {
        st.head.append(data);
        const auto end = st.head.find("\r\n\r\n");
        if (end == std::string::npos) {
          if (st.head.size() > 65536) return fail(st);
          continue;
        }
        // "HTTP/1.1 200 OK"
        if (st.head.size() > 12 && st.head.compare(0, 5, "HTTP/") == 0) st.status = std::atoi(st.head.c_str() + 9);
        if (st.status != 200) return fail(st);
        data = std::string_view(st.head).substr(end + 4);
        st.tail.assign(data.substr(data.size() > 7 ? data.size() - 7 : 0));
        std::string().swap(st.head);
        st.state = State::open;
        resolve(true);
        continue;
      }
      st.tail.append(data);
      if (st.tail.size() > 7) st.tail.erase(0, st.tail.size() - 7);
      if (st.tail == "\r\n0\r\n\r\n") st.ended = true;  // the last chunk of a chunked body
    }
  }

  void loop() {
    std::size_t next = 0;
    std::vector<epoll_event> events(1024);
    while (!stopping_.load()) {
      while (next < streams_.size() && pending_ < max_pending_) start(next++);
      const int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 50);
      for (int k = 0; k < n; ++k) on_event(events[static_cast<std::size_t>(k)].data.u64, events[static_cast<std::size_t>(k)].events);
    }
  }

  Target target_;
  int max_pending_;
  sockaddr_storage addr_{};
  socklen_t addr_len_ = 0;
  int family_ = AF_INET;
  int epoll_ = -1;
  std::vector<Stream> streams_;  // sized before the thread starts; then only the thread touches it until stop()
  int pending_ = 0;              // the thread's
  std::atomic<int> resolved_{0};
  std::atomic<int> accepted_{0};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// (a) echo tools/call over sessions x clients; (d) the same load without, then with, `streams`
// standalone GET streams open beside it (one session each), with the server's RSS and thread
// count before and after the streams opened. The holder outlives the call: the streams stay open
// until the generator has printed its result.
json run_echo(const Options& o, const Target& target, int pid, std::unique_ptr<StreamHolder>* holder) {
  const auto sessions = open_sessions(target, o.sessions, o.clients);
  const json args = {{"text", "hello from graceway-loadgen"}};
  auto echo_load = [&] {
    return run_load(o, pid, [&](int i) -> Operation {
      const auto& session = sessions[static_cast<std::size_t>(i % o.sessions)];
      if (session.empty()) return {};
      auto conn = std::make_shared<McpConnection>(target);
      return [conn, session, &args, &o] { return conn->call(session, o.tool, args) ? std::string{} : conn->last_error(); };
    });
  };
  auto settle = [] { std::this_thread::sleep_for(milliseconds(500)); };  // lets the server's RSS and threads settle
  auto put = [&](json& r, const char* key, std::optional<double> v) { if (v) r[key] = *v; };
  json r;
  std::uint64_t stream_failures = 0;
  if (holder != nullptr) {
    // The same load without the streams first, on the same server, as the baseline.
    const auto baseline = echo_load();
    r["baseline_per_second"] = baseline["per_second"];
    r["baseline_p50_ms"] = baseline["p50_ms"];
    r["baseline_p99_ms"] = baseline["p99_ms"];
    r["baseline_failed"] = baseline["failed"];
    settle();
    put(r, "threads_before_streams", process_threads(pid));
    put(r, "rss_before_sessions_kib", process_rss_kib(pid));
    const auto t0 = Clock::now();
    const auto stream_sessions = open_sessions(target, o.streams, 16);
    const auto t1 = Clock::now();
    settle();
    const auto rss_sessions = process_rss_kib(pid);
    put(r, "rss_before_streams_kib", rss_sessions);
    *holder = std::make_unique<StreamHolder>(target, stream_sessions, o.max_pending);
    const int opened = (*holder)->wait_opened(std::chrono::duration<double>(o.open_timeout_s));
    const auto t2 = Clock::now();
    settle();
    const auto rss_streams = process_rss_kib(pid);
    put(r, "threads_with_streams", process_threads(pid));
    put(r, "rss_with_streams_kib", rss_streams);
    r["streams_requested"] = o.streams;
    r["stream_sessions_failed"] = count_empty(stream_sessions);
    r["streams_opened"] = opened;
    r["sessions_per_second_opening"] = o.streams / std::chrono::duration<double>(t1 - t0).count();
    r["streams_per_second_opening"] = opened / std::chrono::duration<double>(t2 - t1).count();
    if (opened > 0 && rss_sessions && rss_streams) {
      r["kib_per_stream"] = (*rss_streams - *rss_sessions) / opened;
      if (r.contains("rss_before_sessions_kib")) {
        r["kib_per_stream_with_session"] = (*rss_streams - r["rss_before_sessions_kib"].get<double>()) / opened;
      }
    }
  }
  r.update(echo_load());
  r["sessions_failed"] = count_empty(sessions);
  if (holder != nullptr) {
    put(r, "threads_after", process_threads(pid));
    (*holder)->stop();
    const int alive = (*holder)->alive_now();
    r["streams_alive_after"] = alive;
    r["streams_refused"] = (*holder)->refusals();
    r["streams_unanswered"] = (*holder)->unanswered();
    stream_failures = static_cast<std::uint64_t>(o.streams - alive);
    r["failed"] = r["failed"].get<std::uint64_t>() + r["baseline_failed"].get<std::uint64_t>() + stream_failures;
  }
  return r;
}

// (b) the Claude.ai pattern: initialize + initialized + one tools/call + DELETE, per second.
json run_churn(const Options& o, const Target& target, int pid) {
  const json args = {{"text", "churn"}};
  return run_load(o, pid, [&](int) -> Operation {
    auto conn = std::make_shared<McpConnection>(target);
    return [conn, &args, &o] {
      const auto session = conn->open_session();
      const bool ok = !session.empty() && conn->call(session, o.tool, args) && conn->end_session(session);
      return ok ? std::string{} : conn->last_error();
    };
  });
}

// (c) RSS per idle session: the server's RSS after one warm session, then after `sessions` more.
json run_idle(const Options& o, const Target& target, int pid) {
  if (process_rss_kib(pid) == std::nullopt) return {{"error", "idle needs --pid or --graceway to read the server's RSS"}};
  const auto warm = open_sessions(target, 1, 1);
  const double before = *process_rss_kib(pid);
  const auto t0 = Clock::now();
  const auto ids = open_sessions(target, o.sessions, o.clients);
  const double open_s = std::chrono::duration<double>(Clock::now() - t0).count();
  const double after = process_rss_kib(pid).value_or(0);
  const int failed = count_empty(ids) + count_empty(warm);
  return {{"sessions", o.sessions},
          {"failed", failed},
          {"rss_before_kib", before},
          {"rss_after_kib", after},
          {"kib_per_session", (after - before) / o.sessions},
          {"sessions_per_second_opening", o.sessions / open_s}};
}

// Starts `n` slow calls on `session`, each on its own connection, and waits for their heads.
std::vector<std::unique_ptr<HttpExchange>> start_slow_calls(const Options& o, const Target& target,
                                                            const std::string& session, int n, int& started) {
  std::vector<std::unique_ptr<HttpExchange>> calls;
  started = 0;
  for (int i = 0; i < n; ++i) {
    auto ex = std::make_unique<HttpExchange>(target.host, target.port);
    const json req = {{"jsonrpc", "2.0"}, {"id", i + 1}, {"method", "tools/call"},
                      {"params", {{"name", "sleep"}, {"arguments", {{"ms", o.work_ms}}}}}};
    if (ex->connected() && ex->send("POST", target.path, exchange_headers(session), req.dump())) calls.push_back(std::move(ex));
  }
  for (auto& ex : calls) started += ex->read_head(std::chrono::seconds(30)) == 200 ? 1 : 0;
  return calls;
}

// Reads every call to its end, then closes its connection as a client does once its answer is
// complete (the server, draining, said Connection: close and waits a moment for our FIN); how
// many delivered a result.
int finish_calls(std::vector<std::unique_ptr<HttpExchange>>& calls) {
  int results = 0;
  for (auto& ex : calls) {
    for (const auto& m : ex->read_all(std::chrono::seconds(120))) {
      if (m.contains("id") && m.contains("result") && !m["result"].value("isError", false)) ++results;
    }
    ex->close();
  }
  return results;
}

// (e) DELETE latency with `inflight` calls running on the session being deleted.
json run_delete(const Options& o, const Target& target) {
  std::vector<double> latencies;
  int failed = 0;
  int delivered = 0;
  int expected = 0;
  for (int round = 0; round < o.rounds; ++round) {
    McpConnection conn(target);
    const auto session = conn.open_session();
    if (session.empty()) {
      ++failed;
      continue;
    }
    int started = 0;
    auto calls = start_slow_calls(o, target, session, o.inflight, started);
    expected += o.inflight;
    HttpExchange del(target.host, target.port);  // connected before the clock starts
    const auto t0 = Clock::now();
    const bool sent = del.send("DELETE", target.path, exchange_headers(session));
    const int status = sent ? del.read_head(std::chrono::seconds(30)) : 0;
    const auto t1 = Clock::now();
    if (started != o.inflight || (status != 200 && status != 202 && status != 204)) ++failed;
    latencies.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    delivered += finish_calls(calls);
  }
  std::sort(latencies.begin(), latencies.end());
  return {{"rounds", o.rounds},
          {"inflight", o.inflight},
          {"failed", failed + (expected - delivered)},
          {"results_delivered", delivered},
          {"results_expected", expected},
          {"delete_p50_ms", percentile(latencies, 50)},
          {"delete_p99_ms", percentile(latencies, 99)},
          {"delete_max_ms", latencies.empty() ? 0.0 : latencies.back()}};
}

// (f) SIGTERM with `inflight` calls of `work_ms` each running: time to exit, results delivered.
json run_shutdown(const Options& o, const Target& target, ChildProcess* child) {
  if (child == nullptr) return {{"error", "shutdown needs --graceway (the generator signals a process it started)"}};
  McpConnection conn(target);
  const auto session = conn.open_session();
  int started = 0;
  auto calls = start_slow_calls(o, target, session, o.inflight, started);
  const auto t0 = Clock::now();
  child->signal(SIGTERM);
  int delivered = 0;  // written by the reader, read after join()
  std::thread reader([&] { delivered = finish_calls(calls); });  // keeps reading so no stream blocks the drain
  const auto code = child->wait_exit(std::chrono::seconds(120));
  const auto t1 = Clock::now();
  reader.join();
  return {{"inflight", o.inflight},
          {"work_ms", o.work_ms},
          {"calls_started", started},
          {"results_delivered", delivered},
          {"failed", (o.inflight - delivered) + (code == 0 ? 0 : 1)},
          {"exit_code", code ? *code : -1},
          {"shutdown_ms", std::chrono::duration<double, std::milli>(t1 - t0).count()}};
}

// Beyond --max-connections: `streams` GET streams hold connections, then `clients` new
// connections arrive at once, each sending one initialize. Every one must be served (200) or
// refused at once (503 + Retry-After); none may hang. Then the held streams close, and a new
// connection must be served again. Reports statuses and answer latencies.
json run_maxconn(const Options& o, const Target& target) {
  const auto held_sessions = open_sessions(target, o.streams, 8);
  auto holder = std::make_unique<StreamHolder>(target, held_sessions, o.max_pending);
  const int held = holder->wait_opened(std::chrono::seconds(30));
  const std::size_t n = static_cast<std::size_t>(o.clients);
  struct Answer {
    int status = 0;
    double ms = 0;
    bool retry_after = false;
  };
  std::vector<Answer> answers(n);  // one element per thread, read after join()
  std::latch go(o.clients + 1);
  std::latch answered(o.clients);  // every connection stays open until all are answered
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      go.arrive_and_wait();
      const auto t0 = Clock::now();
      HttpExchange ex(target.host, target.port);
      HeaderList h{{"Accept", "application/json, text/event-stream"}, {"Content-Type", "application/json"}};
      auto& a = answers[i];
      if (ex.send("POST", target.path, h, initialize_request(1).dump())) a.status = ex.read_head(std::chrono::seconds(30));
      a.ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      a.retry_after = ex.has_header("Retry-After");
      answered.arrive_and_wait();
    });
  }
  go.arrive_and_wait();
  for (auto& t : threads) t.join();
  // The held connections close; the server must take new ones again.
  holder.reset();
  bool recovered = false;
  const auto give_up = Clock::now() + std::chrono::seconds(5);
  while (!recovered && Clock::now() < give_up) {
    McpConnection conn(target);
    recovered = !conn.open_session().empty();
    if (!recovered) std::this_thread::sleep_for(milliseconds(50));  // the server notices the closes
  }
  json by_status = json::object();
  int bad = 0;
  std::vector<double> ms;
  for (const auto& a : answers) {
    const auto key = std::to_string(a.status);
    by_status[key] = by_status.value(key, 0) + 1;
    if (a.status != 200 && !(a.status == 503 && a.retry_after)) ++bad;
    ms.push_back(a.ms);
  }
  std::sort(ms.begin(), ms.end());
  return {{"streams_held", held},
          {"connections", o.clients},
          {"statuses", by_status},
          {"recovered", recovered},
          {"failed", bad + (held == o.streams ? 0 : 1) + (recovered ? 0 : 1)},
          {"answer_p50_ms", percentile(ms, 50)},
          {"answer_p99_ms", percentile(ms, 99)},
          {"answer_max_ms", ms.empty() ? 0.0 : ms.back()}};
}

// The nginx ceiling: any POST endpoint, answered by a 2xx.
json run_http(const Options& o, const Target& target, int pid) {
  const std::string body = R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}})";
  return run_load(o, pid, [&](int) -> Operation {
    auto conn = std::make_shared<McpConnection>(target);
    return [conn, &body] { return conn->post_raw(body) ? std::string{} : conn->last_error(); };
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"graceway-loadgen: measure an MCP server over Streamable HTTP (see docs/performance.md)"};
  Options o;
  std::string url;
  app.add_option("mode", o.mode, "echo, churn, idle, streams, delete, shutdown, http, open or maxconn")
      ->required()
      ->check(CLI::IsMember({"echo", "churn", "idle", "streams", "delete", "shutdown", "http", "open", "maxconn"}));
  auto* url_opt = app.add_option("--url", url, "The MCP endpoint of a running server (http[s]://host:port/path)");
  app.add_option("--ca-file", client_tls.ca_file, "https: check the server's certificate against this PEM file (else unchecked)");
  app.add_option("--graceway", o.graceway, "Start this graceway binary on a free loopback port instead")->excludes(url_opt);
  app.add_option("--server-arg", o.server_args, "A flag for the graceway it starts (repeat)")->allow_extra_args(false);
  app.add_option("--pid", o.pid, "The server's process id, to read its CPU and RSS from /proc");
  app.add_option("--sessions", o.sessions, "Sessions (echo: shared by the clients; idle: opened)")->check(CLI::PositiveNumber);
  app.add_option("--clients", o.clients, "Concurrent connections, one thread each")->check(CLI::PositiveNumber);
  app.add_option("--streams", o.streams, "GET streams: open beside the echo load (streams), held (maxconn)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--open-timeout", o.open_timeout_s, "Seconds allowed for opening the streams (streams)")->check(CLI::PositiveNumber);
  app.add_option("--max-pending", o.max_pending, "Streams being opened at once (streams, maxconn)")->check(CLI::PositiveNumber);
  app.add_option("--duration", o.duration_s, "Measured seconds")->check(CLI::PositiveNumber);
  app.add_option("--warmup", o.warmup_s, "Unmeasured seconds first")->check(CLI::NonNegativeNumber);
  app.add_option("--inflight", o.inflight, "Slow calls in flight (delete, shutdown)")->check(CLI::PositiveNumber);
  app.add_option("--rounds", o.rounds, "DELETEs measured (delete)")->check(CLI::PositiveNumber);
  app.add_option("--work-ms", o.work_ms, "Length of each slow call, ms (the sleep tool)")->check(CLI::PositiveNumber);
  app.add_option("--tool", o.tool, "The echo tool's name (argument \"text\")");
  app.add_option("--label", o.label, "A name carried into the JSON output");
  CLI11_PARSE(app, argc, argv);
  if (url.empty() == o.graceway.empty()) {
    std::cerr << "graceway-loadgen: give --url or --graceway\n";
    return 2;
  }
  raise_fd_limit();
  std::signal(SIGPIPE, SIG_IGN);

  Target target;
  std::unique_ptr<ChildProcess> child;
  int pid = o.pid;
  if (!o.graceway.empty()) {
    target.port = free_port();
    auto args = o.server_args;
    args.insert(args.end(), {"--host", "127.0.0.1", "--port", std::to_string(target.port), "--log-level", "warn"});
    child = std::make_unique<ChildProcess>(o.graceway, args);
    if (target.port == 0 || !child->started() || !wait_healthy(target)) {
      child->collect();
      std::cerr << "graceway-loadgen: " << o.graceway << " did not start: " << child->output() << '\n';
      return 2;
    }
    pid = child->pid();
  } else {
    std::string plain = url;
    if (plain.rfind("https://", 0) == 0) {
      client_tls.on = true;
      plain = "http://" + plain.substr(8);
    }
    auto t = parse_url(plain);
    if (!t) {
      std::cerr << "graceway-loadgen: --url: expected http[s]://host[:port][/path], got '" << url << "'\n";
      return 2;
    }
    target = *t;
    if (client_tls.on && url.find(':', 8) == std::string::npos) target.port = 443;
    const bool keep_alive_mode = o.mode == "echo" || o.mode == "churn" || o.mode == "http" || o.mode == "open";
    if (client_tls.on && !keep_alive_mode) {
      std::cerr << "graceway-loadgen: https:// is spoken by echo, churn, http and open only\n";
      return 2;
    }
  }

  json r;
  std::unique_ptr<StreamHolder> streams;
  if (o.mode == "echo") r = run_echo(o, target, pid, nullptr);
  if (o.mode == "streams") r = run_echo(o, target, pid, &streams);
  if (o.mode == "churn") r = run_churn(o, target, pid);
  if (o.mode == "idle") r = run_idle(o, target, pid);
  if (o.mode == "delete") r = run_delete(o, target);
  if (o.mode == "shutdown") r = run_shutdown(o, target, child.get());
  if (o.mode == "http") r = run_http(o, target, pid);
  if (o.mode == "maxconn") r = run_maxconn(o, target);
  if (o.mode == "open") {
    const auto ids = open_sessions(target, o.sessions, o.clients);
    r = {{"session_ids", ids}, {"failed", count_empty(ids)}};
  }
  if (auto rss = process_rss_kib(pid)) r["server_rss_kib"] = *rss;
  if (auto threads = process_threads(pid)) r["server_threads"] = *threads;
  r["mode"] = o.mode;
  r["label"] = o.label;
  r["sessions_arg"] = o.sessions;
  r["clients"] = o.clients;
  std::cout << r.dump() << std::endl;

  streams.reset();
  if (child && o.mode != "shutdown") {
    child->signal(SIGTERM);
    (void)child->wait_exit(std::chrono::seconds(60));
  }
  if (r.contains("error")) {
    std::cerr << "graceway-loadgen: " << r["error"].get<std::string>() << '\n';
    return 2;
  }
  const auto failed = r.value("failed", std::uint64_t{0});
  if (failed != 0) std::cerr << "graceway-loadgen: " << failed << " requests failed or were lost\n";
  return failed == 0 ? 0 : 1;
}
