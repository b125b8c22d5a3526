#pragma once
// Every HTTP route graceway serves, apart from the engine that carries the bytes: the MCP
// endpoint (Streamable HTTP POST/GET/DELETE), the legacy HTTP+SSE transport (2024-11-05: GET
// --sse-path, POST --messages-path) and the operational routes (/healthz, /readyz, /metrics).
// It owns the whole order of checks of a request (request front, admission table, protocol
// version, era rules) and answers with a full response or a reply stream; the engine only parses
// requests and writes answers. The request-front fuzz target and the tests call it directly.
// Thread-safe: any engine thread may call handle() at any time.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "graceway/clock.hpp"
#include "graceway/config.hpp"
#include "graceway/errc.hpp"
#include "graceway/jsonrpc.hpp"
#include "graceway/metrics.hpp"
#include "graceway/rate_limit_options.hpp"
#include "graceway/server.hpp"
#include "session/event_log.hpp"
#include "transport/admission.hpp"
#include "transport/reply_stream.hpp"
#include "transport/request_front.hpp"

namespace graceway {

class Session;
class SessionRegistry;
class StatelessRequests;
class Subscriptions;
namespace mcp {
class MessageHandler;
}
namespace security {
class Authenticator;
class RateLimiter;
class TrustedProxies;
struct Denial;
}

// One HTTP request as an engine hands it over: views into the engine's buffers, valid for the
// duration of McpEndpoint::handle().
struct HttpRequest {
  std::string_view method;
  std::string_view path;    // the target up to '?'
  std::string_view query;   // after '?', still percent-encoded; empty when none
  front::Headers headers;
  std::string_view body;
  std::string_view remote;  // the peer's address and port, for logs
  std::string_view peer;    // the peer's address alone (no port, no brackets)
  // Given by an engine that can wait: handle() may then answer `pending` (authentication waits
  // on an authorization server), and `wake` runs, on any thread, once handle() can decide; the
  // engine then calls handle() again with the same request and `wake` empty.
  std::function<void()> wake;
};

// What the engine writes back: a whole response, or a head followed by a reply stream.
struct HttpAnswer {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type
  std::string content_type;  // empty: no body
  std::string body;
  // Set: the body is this stream, written as it produces output, until it ends or the client
  // leaves (the engine calls ReplyStream::mark_gone() then).
  std::shared_ptr<ReplyStream> stream;
  // Runs once, on the engine's thread, when the engine stops serving `stream` for any reason.
  std::function<void()> on_stream_end;
  // The connection must not carry another request after this answer.
  bool close_connection = false;
  // Not answered yet: see HttpRequest::wake. Nothing else in the answer is meaningful.
  bool pending = false;

  void set_header(std::string name, std::string value) { headers.emplace_back(std::move(name), std::move(value)); }
  [[nodiscard]] const std::string* header(std::string_view name) const;
};

class McpEndpoint {
public:
  // `handler` answers the sessions' messages; `catalog` is what graceway's own InitializeResult
  // declares when the handler does not forward initialize.
  // `auth` null: authless. `limits` must have passed validate().
  // `stateless` and `subscriptions` null: stateless (2026-07-28) requests are not served.
  McpEndpoint(const ServerConfig& config, const ServerInfo& info, const Clock& clock, SessionRegistry& registry,
              mcp::MessageHandler& handler, const Catalog& catalog, Metrics& metrics,
              security::Authenticator* auth = nullptr, const RateLimitOptions& limits = {},
              StatelessRequests* stateless = nullptr, Subscriptions* subscriptions = nullptr);
  ~McpEndpoint();
  McpEndpoint(const McpEndpoint&) = delete;
  McpEndpoint& operator=(const McpEndpoint&) = delete;

  // Routes and answers one request. Never throws: a handler that throws is answered 500.
  [[nodiscard]] HttpAnswer handle(const HttpRequest& request);
  // An error the engine found before the request was whole (body over the limit, bad framing,
  // no capacity), rendered like every other error.
  [[nodiscard]] HttpAnswer refusal(errc e, std::string_view detail = {});

  // Readiness fails and new sessions get 503 + Retry-After (seconds until `deadline`).
  void begin_shutdown(Clock::time_point deadline);
  [[nodiscard]] bool shutting_down() const { return shutting_down_.load(); }

private:
  using Format = ReplyStream::Format;
  enum class PostEndpoint { streamable, legacy };
  enum class McpRoute { endpoint, sse_open, messages };

  // Who a request speaks for, once the access checks let it through.
  struct Caller {
    std::string owner;      // Principal::id, which sessions are bound to; empty when authless
    std::string limit_key;  // its rate-limit bucket: the principal, or the client's address
    std::string display;    // for logs
  };

  HttpAnswer route(const HttpRequest& req);
  // Which MCP route `path` is, if any (the legacy routes with or without a trailing slash).
  [[nodiscard]] std::optional<McpRoute> mcp_route(std::string_view path) const;
  // The access checks of an MCP route after Host, Origin and the CORS preflight: the
  // per-address budget of unauthenticated requests, authentication and scope (docs/security.md,
  // "Order of checks"). An answer when the request stops here (a refusal, or pending).
  std::optional<HttpAnswer> check_access(const HttpRequest& req, Caller& caller);
  // Charges one request to the caller's budget; a 429 when it is spent. `refund` gives the
  // token back for work that was refused after all (a drain that began meanwhile).
  std::optional<HttpAnswer> charge(const Caller& caller, const std::optional<jsonrpc::RequestId>& id);
  void refund(const Caller& caller);
  // True for the protected resource metadata's paths (auth on only).
  [[nodiscard]] bool is_metadata_path(std::string_view path) const;
  // 429 with Retry-After: a budget is spent.
  HttpAnswer refuse_rate_limited(const std::optional<jsonrpc::RequestId>& id, std::chrono::seconds retry_after);
  // 405 naming the verbs `allow` lists.
  HttpAnswer refuse_verb(const char* allow);
  // A CORS preflight from an allowed Origin: 204 and what it may send.
  HttpAnswer preflight(const HttpRequest& req, bool any_origin);
  // The protected resource metadata document (RFC 9728), readable from any origin.
  HttpAnswer serve_metadata(const HttpRequest& req);
  HttpAnswer refuse_auth(const security::Denial& denial);
  // CORS headers on every answer to an allowed Origin, errors included.
  void add_cors_headers(const HttpRequest& req, HttpAnswer& answer) const;
  // The session `session_id` names, as `caller` may see it (another principal's is unknown).
  front::Target look_up(const Caller& caller, std::string_view session_id, const HttpRequest& req);

  HttpAnswer handle_post(const HttpRequest& req, const Caller& caller);

  // --- the eras (modern_endpoint.cpp; docs/spec-rules.md, "Protocol eras") -------------------
  enum class EraRoute { legacy, modern, refuse };
  struct EraDecision {
    EraRoute route = EraRoute::legacy;
    errc refusal = errc::invalid_request;
    std::string detail;
    nlohmann::json data;
    bool tolerated = false;  // legacy, under --lenient-version-header: skip the version header check
  };
  // The one place a POST's era is decided: a body claiming 2026-07-28 in params._meta is modern
  // whatever else the request says; initialize without one is the legacy handshake; the version
  // header alone never makes a request modern, it can only make it wrong.
  // `owner`: the caller's principal (a lenient exception applies to its own sessions only).
  [[nodiscard]] EraDecision route_era(const HttpRequest& req, const front::Post& post, std::string_view owner) const;
  // True when a GET or DELETE must be answered 405 Allow: POST (a modern version header, or the
  // legacy era not served).
  [[nodiscard]] bool refuses_session_verbs(const HttpRequest& req) const;
  [[nodiscard]] bool serves_modern() const;
  // A stateless request (or notification): the modern checks, then the dispatcher.
  HttpAnswer handle_modern(const HttpRequest& req, const Caller& caller, const front::Post& post);
  // subscriptions/listen: an SSE stream that carries what the client subscribed to until it
  // closes it or the server shuts down.
  HttpAnswer listen(const HttpRequest& req, const jsonrpc::Message& request);

  // The admission loop of every POST, at the endpoint and at the legacy /messages: look the
  // session up, ask the admission table, act; a session that left `open` between the look-up and
  // the run is looked up again.
  HttpAnswer admit_post(const HttpRequest& req, const Caller& caller, const front::Post& post,
                        std::string_view session_id, PostEndpoint endpoint, bool version_header_tolerated = false);
  HttpAnswer handle_get(const HttpRequest& req, const Caller& caller);
  HttpAnswer handle_delete(const HttpRequest& req, const Caller& caller);
  // Legacy HTTP+SSE (docs/legacy-sse.md).
  HttpAnswer handle_sse_open(const HttpRequest& req, const Caller& caller);
  HttpAnswer handle_messages(const HttpRequest& req, const Caller& caller);
  // Applies a legacy session's initialize and puts its answer on the session's stream. False
  // when another initialize got there first (the caller asks the admission table again).
  // `decoded` is the POST's one initialize.
  bool initialize_legacy(const std::shared_ptr<Session>& session, const jsonrpc::Decoded& decoded);
  // A message that answers no in-flight request (a legacy initialize, an invalid message, a
  // refused request) on `stream`; dropped quietly when the stream is gone.
  void deliver(const std::shared_ptr<Outbox>& stream, const Session& session, const nlohmann::json& message);
  // The session's stream, or a stand-in that drops (and counts) whatever is written to it.
  [[nodiscard]] std::shared_ptr<Outbox> legacy_stream_of(const Session& session);

  // What an initialize asks, read the same way on both transports; nullopt when protocolVersion
  // is missing or not a string. `fallback_version`: what a client asking for a version we do not
  // speak is offered (the transport's newest).
  struct Handshake {
    std::string version;    // negotiated
    std::string requested;  // what the client asked for
    nlohmann::json capabilities;
    std::string client;     // "name version", for the log
  };
  [[nodiscard]] static std::optional<Handshake> read_initialize(const jsonrpc::Message& request,
                                                                std::string_view fallback_version);
  // The InitializeResult for `handshake`, or the -32602 answer when there is none.
  [[nodiscard]] nlohmann::json initialize_answer(const jsonrpc::Message& request, const Handshake* handshake) const;
  // A Streamable HTTP initialize (`decoded` is the POST's one initialize): a new session, answered
  // on the POST.
  HttpAnswer initialize(const jsonrpc::Decoded& decoded, Format format, const Caller& caller);
  // A reply stream for requests of `session`: its client leaving stops them (client_left).
  std::shared_ptr<ReplyStream> request_stream(const std::shared_ptr<Session>& session, Format format, bool batch);
  void accept_messages(Session& session, const jsonrpc::Decoded& decoded);
  // Admits each request of `decoded` with `stream` as its reply stream (the POST's own, or a
  // legacy session's one stream); every other item is applied, or answered on the same stream.
  // False when a single request found its session no longer open (the caller asks again).
  bool run_requests(const std::shared_ptr<Session>& session, const jsonrpc::Decoded& decoded,
                    const std::shared_ptr<Outbox>& stream);
  // The POST's own reply stream, written whole or streamed.
  HttpAnswer respond(const std::shared_ptr<ReplyStream>& stream);

  [[nodiscard]] admission::Decision decide(admission::Verb verb, admission::Body body, admission::Lookup lookup,
                                          bool awaiting_initialize = false, bool resuming = false) const;
  // Resumability: gives an SSE stream event ids (and the priming event for 2025-11-25 sessions)
  // when the session keeps an event log.
  void make_resumable(Session& session, const std::shared_ptr<ReplyStream>& stream, EventLog::StreamKind kind) const;
  // GET + Last-Event-ID: serves the rest of the stream `from` names. Empty when the session does
  // not know that stream (the caller serves a plain GET stream instead).
  std::optional<HttpAnswer> resume(const std::shared_ptr<Session>& session, EventId from);
  // The client of `stream` left (or its successor's did): stop its unanswered requests now, or
  // after --resume-window unless a GET resumes the stream first.
  void client_left(const std::weak_ptr<Session>& session, const std::weak_ptr<ReplyStream>& stream) const;
  // Answers a request-front refusal (and logs a refused Host or Origin).
  HttpAnswer refuse(const HttpRequest& req, const front::Refusal& refusal, const Session* session = nullptr);
  // A verb a route does not serve: the Host/Origin checks, then 405 with `allow`.
  HttpAnswer refuse_method(const HttpRequest& req, const char* allow);
  HttpAnswer refuse(errc e, const std::optional<jsonrpc::RequestId>& id, const Session* session = nullptr,
                    std::string_view detail = {}, const nlohmann::json& data = nullptr);
  [[nodiscard]] std::chrono::seconds server_retry_after() const;
  // The 200 head of an SSE stream.
  [[nodiscard]] static HttpAnswer sse_answer(std::shared_ptr<ReplyStream> stream, std::function<void()> on_end);

  const ServerConfig& config_;
  const ServerInfo& info_;
  const Clock& clock_;
  SessionRegistry& registry_;
  mcp::MessageHandler& handler_;
  const Catalog& catalog_;
  Metrics& metrics_;
  const front::Policy policy_;  // read-only after construction
  security::Authenticator* const auth_;  // null: authless; outlives the endpoint
  // Both null when off. Thread-safe themselves.
  std::unique_ptr<security::RateLimiter> limiter_;              // per principal (or address), admitted work
  std::unique_ptr<security::RateLimiter> unauthenticated_limiter_;  // per address, failed authentication
  std::unique_ptr<security::TrustedProxies> trusted_proxies_;  // read-only after construction
  StatelessRequests* const stateless_;   // null: no stateless requests; thread-safe; outlives the endpoint
  Subscriptions* const subscriptions_;   // likewise

  std::atomic<bool> shutting_down_{false};
  std::atomic<Clock::time_point> shutdown_deadline_{};
  std::atomic<std::uint64_t> direct_keys_{0};  // numbers deliver()'s response slots
};

}  // namespace graceway
