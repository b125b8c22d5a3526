#pragma once
// Streamable HTTP on cpp-httplib: POST/GET/DELETE on the MCP endpoint, the admission table
// applied to each, SSE or JSON responses, /healthz, /readyz and /metrics; beside it the legacy
// HTTP+SSE transport (2024-11-05: GET --sse-path, POST --messages-path). The only file that
// knows httplib's request and response types.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <system_error>
#include <thread>

#include <nlohmann/json.hpp>

#include "graceway/clock.hpp"
#include "graceway/config.hpp"
#include "graceway/errc.hpp"
#include "graceway/jsonrpc.hpp"
#include "graceway/metrics.hpp"
#include "graceway/server.hpp"
#include "session/event_log.hpp"
#include "transport/admission.hpp"
#include "transport/reply_stream.hpp"
#include "transport/request_front.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace graceway {

class Session;
class SessionRegistry;
namespace mcp {
class Dispatcher;
}

class HttpTransport {
public:
  HttpTransport(const ServerConfig& config, const ServerInfo& info, const Clock& clock, SessionRegistry& registry,
                mcp::Dispatcher& dispatcher, Metrics& metrics);
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  [[nodiscard]] std::error_code bind();
  [[nodiscard]] std::uint16_t port() const { return port_; }
  void start();  // serves on the listener thread until stop()
  // Readiness fails and new sessions get 503 + Retry-After (seconds until `deadline`).
  void begin_shutdown(Clock::time_point deadline);
  [[nodiscard]] bool shutting_down() const { return shutting_down_.load(); }
  // Waits until every response stream has ended, or `give_up`. True when none is left.
  bool wait_streams_closed(std::chrono::steady_clock::time_point give_up);
  void stop();  // closes the listener and joins every HTTP thread. Idempotent.

private:
  using Request = httplib::Request;
  using Response = httplib::Response;
  using Format = ReplyStream::Format;

  using Target = front::Target;

  enum class PostEndpoint { streamable, legacy };

  void install_routes();
  void handle_post(const Request& req, std::string_view body, Response& res);
  // The admission loop of every POST, at the endpoint and at the legacy /messages: look the
  // session up, ask the admission table, act; a session that left `open` between the look-up and
  // the run is looked up again.
  void admit_post(const Request& req, const front::Headers& headers, const front::Post& post,
                  std::string_view session_id, PostEndpoint endpoint, Response& res);
  void handle_get(const Request& req, Response& res);
  void handle_delete(const Request& req, Response& res);
  // Legacy HTTP+SSE (spec-checklist.md section 3; docs/legacy-sse.md).
  void handle_sse_open(const Request& req, Response& res);
  void handle_messages(const Request& req, Response& res);
  // Applies a legacy session's initialize and puts its answer on the session's stream. False
  // when another initialize got there first (the caller asks the admission table again).
  bool initialize_legacy(Session& session, const jsonrpc::Message& request);
  // Admits each request with the session's stream as its reply stream. False when a single
  // request found its session no longer open (the caller asks again).
  bool run_legacy_requests(const std::shared_ptr<Session>& session, const jsonrpc::Decoded& decoded);
  // A message that answers no in-flight request (initialize, an invalid message, a refusal) on a
  // legacy session's stream; dropped quietly when the stream is gone.
  void deliver_legacy(const std::shared_ptr<ReplyStream>& stream, const Session& session, const nlohmann::json& message);
  // The session's stream, or a stand-in that drops (and counts) whatever is written to it.
  [[nodiscard]] std::shared_ptr<ReplyStream> legacy_stream_of(const Session& session);

  void initialize(Response& res, const jsonrpc::Message& request, Format format);
  void accept_messages(Session& session, const jsonrpc::Decoded& decoded);
  // False when a single request found its session no longer open (the caller asks again).
  bool run_requests(Response& res, const std::shared_ptr<Session>& session, const jsonrpc::Decoded& decoded,
                    Format format);

  [[nodiscard]] Target look_up(std::string_view session_id) const;
  [[nodiscard]] admission::Decision decide(admission::Verb verb, admission::Body body, admission::Lookup lookup,
                                          bool awaiting_initialize = false, bool resuming = false) const;
  // Resumability: gives an SSE stream event ids (and the priming event for 2025-11-25 sessions)
  // when the session keeps an event log.
  void make_resumable(Session& session, const std::shared_ptr<ReplyStream>& stream, EventLog::StreamKind kind) const;
  // GET + Last-Event-ID: serves the rest of the stream `from` names. False when the session does
  // not know that stream (the caller serves a plain GET stream instead).
  bool resume(Response& res, const std::shared_ptr<Session>& session, EventId from);
  // The client of `stream` left (or its successor's did): stop its unanswered requests now, or
  // after --resume-window unless a GET resumes the stream first.
  void client_left(const std::weak_ptr<Session>& session, const std::weak_ptr<ReplyStream>& stream) const;
  // Answers a request-front refusal (and logs a refused Host or Origin).
  void refuse(const Request& req, Response& res, const front::Refusal& refusal, const Session* session = nullptr);
  // A verb the endpoint does not serve: the Host/Origin checks, then 405.
  void refuse_method(const Request& req, Response& res);
  void refuse(Response& res, errc e, const std::optional<jsonrpc::RequestId>& id, const Session* session = nullptr,
              std::string_view detail = {}, const nlohmann::json& data = nullptr);
  [[nodiscard]] std::chrono::seconds server_retry_after() const;

  void respond(Response& res, const std::shared_ptr<ReplyStream>& stream);
  // `check_interval`: how long the HTTP thread waits on an idle stream before it checks the client.
  void serve_stream(Response& res, const std::shared_ptr<ReplyStream>& stream, std::chrono::milliseconds check_interval,
                    std::function<void()> on_end);
  void wake_idle_connections() const;

  const ServerConfig& config_;
  const ServerInfo& info_;
  const Clock& clock_;
  SessionRegistry& registry_;
  mcp::Dispatcher& dispatcher_;
  Metrics& metrics_;
  const front::Policy policy_;  // read-only after construction

  std::unique_ptr<httplib::Server> http_;
  std::thread listener_;             // runs httplib's accept loop; joined by stop()
  std::uint16_t port_ = 0;           // written by bind() before start()
  int listen_fd_ = -1;               // written by bind() before start()
  std::atomic<bool> shutting_down_{false};
  std::atomic<Clock::time_point> shutdown_deadline_{};
  std::atomic<std::uint64_t> legacy_keys_{0};  // numbers the legacy stream's direct deliveries

  std::mutex streams_mu_;            // guards streams_
  std::condition_variable streams_cv_;
  std::size_t streams_ = 0;          // response streams being served
};

}  // namespace graceway
