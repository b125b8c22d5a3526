#include "transport/mcp_endpoint.hpp"

#include <cctype>

#include <spdlog/spdlog.h>

#include "graceway/logging.hpp"
#include "mcp/protocol.hpp"
#include "security/authenticator.hpp"
#include "security/client_address.hpp"
#include "security/cors.hpp"
#include "security/rate_limiter.hpp"
#include "session/session_registry.hpp"
#include "transport/error_mapping.hpp"
#include "transport/http_headers.hpp"

namespace graceway {
namespace {

using nlohmann::json;
using admission::Action;
using admission::Body;
using admission::Lookup;
using admission::Verb;

std::shared_ptr<spdlog::logger> log() {
  static const auto logger = logging::get("graceway.http");
  return logger;
}

constexpr const char* kSessionHeader = "Mcp-Session-Id";
constexpr const char* kJson = "application/json";
constexpr const char* kEventStream = "text/event-stream";
// What every route that serves MCP allows; the legacy routes name their one verb.
constexpr const char* kEndpointMethods = "GET, POST, DELETE";
// A session only moves forward (open -> draining -> closed), so asking the table a third time
// always settles; the bound is a guard, not a retry policy.
constexpr int kAdmissionAttempts = 3;

const char* content_type_of(ReplyStream::Format format) {
  return format == ReplyStream::Format::sse ? kEventStream : kJson;
}

// A 200 carrying JSON-RPC messages in `format`.
HttpAnswer messages_answer(ReplyStream::Format format) {
  HttpAnswer answer;
  answer.content_type = content_type_of(format);
  if (format == ReplyStream::Format::sse) {
    answer.set_header("Cache-Control", "no-cache");
    answer.set_header("X-Accel-Buffering", "no");  // nginx: do not buffer the stream
  }
  return answer;
}

HttpAnswer json_answer(int status, std::string body) {
  HttpAnswer answer;
  answer.status = status;
  answer.content_type = kJson;
  answer.body = std::move(body);
  return answer;
}

// The query parameter carrying the session on the legacy messages endpoint: TS SDK servers name
// it sessionId, Python SDK servers session_id; clients copy whatever the endpoint event said.
std::string legacy_session_param(std::string_view query) {
  if (auto id = http::query_param(query, "sessionId")) return *id;
  return http::query_param(query, "session_id").value_or("");
}

bool is_get(std::string_view method) { return method == "GET"; }

// A session's POST stream as this endpoint made it. Every outbox a session holds was created here
// as a ReplyStream; resuming one is the transport's business, not the session's.
std::shared_ptr<ReplyStream> resumable_stream(std::shared_ptr<Outbox> outbox) {
  return std::static_pointer_cast<ReplyStream>(std::move(outbox));
}

}  // namespace

const std::string* HttpAnswer::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (http::iequals(key, name)) return &value;
  }
  return nullptr;
}

McpEndpoint::McpEndpoint(const ServerConfig& config, const ServerInfo& info, const Clock& clock,
                         SessionRegistry& registry, mcp::MessageHandler& handler, const Catalog& catalog,
                         Metrics& metrics, security::Authenticator* auth, const RateLimitOptions& limits,
                         StatelessRequests* stateless, Subscriptions* subscriptions)
    : config_(config), info_(info), clock_(clock), registry_(registry), handler_(handler), catalog_(catalog),
      metrics_(metrics), policy_(front::Policy::from(config)), auth_(auth), stateless_(stateless),
      subscriptions_(subscriptions) {
  std::string why;
  auto limiter = [&](const std::string& text) -> std::unique_ptr<security::RateLimiter> {
    if (text.empty()) return nullptr;
    auto rate = security::parse_rate(text, why);
    if (!rate) return nullptr;  // validate() reported it
    if (limits.burst > 0) rate->burst = limits.burst;
    return std::make_unique<security::RateLimiter>(*rate, clock_, limits.max_clients);
  };
  limiter_ = limiter(limits.rate);
  unauthenticated_limiter_ = auth_ != nullptr ? limiter(limits.unauthenticated_rate) : nullptr;
  auto trusted = security::TrustedProxies::parse(limits.trusted_proxies, why);
  trusted_proxies_ = std::make_unique<security::TrustedProxies>(trusted ? std::move(*trusted) : security::TrustedProxies{});
}

McpEndpoint::~McpEndpoint() = default;

void McpEndpoint::begin_shutdown(Clock::time_point deadline) {
  shutdown_deadline_.store(deadline);
  shutting_down_.store(true);
}

std::chrono::seconds McpEndpoint::server_retry_after() const {
  if (config_.retry_after.count() > 0) return config_.retry_after;
  const auto left = std::chrono::ceil<std::chrono::seconds>(shutdown_deadline_.load() - clock_.now());
  return std::max(left, std::chrono::seconds(1));
}

HttpAnswer McpEndpoint::refusal(errc e, std::string_view detail) {
  auto answer = refuse(e, std::nullopt, nullptr, detail);
  answer.close_connection = true;  // the engine refuses what it could not read whole
  return answer;
}

// ---------------------------------------------------------------------------------------------
// Routes

HttpAnswer McpEndpoint::handle(const HttpRequest& req) {
  HttpAnswer answer;
  try {
    answer = route(req);
  } catch (const std::exception& e) {
    log()->error("{} {}: handler threw: {}", req.method, req.path, e.what());
    answer = refuse(errc::internal_error, std::nullopt);
  } catch (...) {
    log()->error("{} {}: handler threw an unknown exception", req.method, req.path);
    answer = refuse(errc::internal_error, std::nullopt);
  }
  if (answer.pending) return answer;
  add_cors_headers(req, answer);
  if (log()->should_log(spdlog::level::debug)) {  // runs for every request
    log()->debug("{} {} -> {} (session {})", req.method, req.path, answer.status, req.headers.session_id.value_or("-"));
  }
  return answer;
}

HttpAnswer McpEndpoint::route(const HttpRequest& req) {
  const std::string_view path = req.path;
  const std::string_view method = req.method;
  // The order of checks, in one place (docs/security.md, "Order of checks"): operational routes
  // and the metadata need no credentials; every MCP route runs Host and Origin, then the CORS
  // preflight, then the verb, then check_access (address budget, authentication, scope); the
  // handlers go on with the session (look-up and owner), the drain, the caller's budget and
  // dispatch, in that order.
  if (is_get(method) && path == "/healthz") return json_answer(200, R"({"status":"ok"})");
  if (is_get(method) && path == "/readyz") {
    if (shutting_down_.load()) return json_answer(503, R"({"status":"draining"})");
    auto reason = handler_.unready_reason();
    if (!reason && auth_ != nullptr) reason = auth_->unready_reason();
    if (reason) return json_answer(503, jsonrpc::serialize(json{{"status", "unready"}, {"reason", *reason}}));
    return json_answer(200, R"({"status":"ready"})");
  }
  if (is_get(method) && path == "/metrics") {
    HttpAnswer answer;
    answer.content_type = "text/plain; version=0.0.4";
    answer.body = metrics_.render_prometheus();
    return answer;
  }
  if (is_metadata_path(path)) return serve_metadata(req);
  const auto kind = mcp_route(path);
  if (!kind) return refuse(errc::not_found, std::nullopt);
  if (auto refusal = front::check_caller(req.headers, policy_)) return refuse(req, *refusal);
  if (method == "OPTIONS" && req.headers.origin && req.headers.cors_request_method) return preflight(req, false);
  const bool served = (*kind == McpRoute::endpoint && (method == "POST" || is_get(method) || method == "DELETE")) ||
                      (*kind == McpRoute::sse_open && is_get(method)) ||
                      (*kind == McpRoute::messages && method == "POST");
  if (!served) {
    return refuse_method(req, *kind == McpRoute::endpoint ? kEndpointMethods : *kind == McpRoute::sse_open ? "GET" : "POST");
  }
  // The stateless era has no session to stream or end.
  if (*kind == McpRoute::endpoint && method != "POST" && refuses_session_verbs(req)) return refuse_verb("POST");
  Caller caller;
  if (auto stop = check_access(req, caller)) return std::move(*stop);
  switch (*kind) {
    case McpRoute::endpoint:
      if (method == "POST") return handle_post(req, caller);
      if (is_get(method)) return handle_get(req, caller);
      return handle_delete(req, caller);
    case McpRoute::sse_open: return handle_sse_open(req, caller);
    case McpRoute::messages: return handle_messages(req, caller);
  }
  return refuse(errc::not_found, std::nullopt);
}

std::optional<McpEndpoint::McpRoute> McpEndpoint::mcp_route(std::string_view path) const {
  if (path == config_.path) return McpRoute::endpoint;
  if (!config_.legacy_sse || !config_.serve_legacy) return std::nullopt;
  // Each path with and without a trailing slash, answered in place: a redirect would lose the
  // POST body with some clients (docs/legacy-sse.md).
  auto is = [path](const std::string& route) {
    return path == route || (path.size() == route.size() + 1 && path.back() == '/' && path.starts_with(route));
  };
  if (is(config_.sse_path)) return McpRoute::sse_open;
  if (is(config_.messages_path)) return McpRoute::messages;
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Access: credentials, limits, CORS (docs/security.md)

std::optional<HttpAnswer> McpEndpoint::check_access(const HttpRequest& req, Caller& caller) {
  const auto address = security::client_address(req.peer, req.headers.forwarded_for.value_or(""), *trusted_proxies_);
  caller.limit_key = "addr:" + security::rate_limit_key(address);
  caller.display = address;
  if (auth_ == nullptr) return std::nullopt;
  // RFC 6750 section 2.3 allows it; MCP forbids it (URLs end up in logs and histories).
  if (http::query_param(req.query, "access_token")) {
    return refuse_auth({.code = errc::malformed_credentials, .description = "tokens in the URL are refused"});
  }
  // Unauthenticated attempts are what this budget counts: each costs a signature check or an
  // introspection call. It is looked at before authenticating and charged only on failure.
  if (unauthenticated_limiter_) {
    const auto verdict = unauthenticated_limiter_->peek(caller.limit_key);
    if (!verdict.admitted) {
      ++metrics_.rate_limited;
      log()->debug("{}: unauthenticated requests over --rate-limit-unauthenticated; 429", address);
      return refuse_rate_limited(std::nullopt, verdict.retry_after);
    }
  }
  const security::Credentials credentials{.authorization = req.headers.authorization,
                                          .authorization_repeated = req.headers.authorization_repeated,
                                          .api_key = req.headers.api_key};
  auto outcome = auth_->authenticate(credentials, req.wake);
  if (outcome.pending()) {
    HttpAnswer answer;
    answer.pending = true;
    return answer;
  }
  if (outcome.denial) {
    if (unauthenticated_limiter_) (void)unauthenticated_limiter_->take(caller.limit_key);
    if (outcome.denial->code == errc::credentials_required) {
      log()->debug("{} {} from {}: no credentials; 401 with the challenge", req.method, req.path, address);
    } else {
      log()->info("{} {} from {}: {} ({})", req.method, req.path, address, make_error_code(outcome.denial->code).message(),
                  outcome.denial->description);
    }
    return refuse_auth(*outcome.denial);
  }
  caller.owner = outcome.principal->id;
  caller.limit_key = outcome.principal->id;
  caller.display = outcome.principal->display;
  return std::nullopt;
}

std::optional<HttpAnswer> McpEndpoint::charge(const Caller& caller, const std::optional<jsonrpc::RequestId>& id) {
  if (!limiter_) return std::nullopt;
  const auto verdict = limiter_->take(caller.limit_key);
  metrics_.rate_limit_untracked.store(limiter_->untracked_admissions());
  if (verdict.admitted) return std::nullopt;
  ++metrics_.rate_limited;
  log()->debug("{}: over --rate-limit; 429, retry after {} s", caller.display, verdict.retry_after.count());
  return refuse_rate_limited(id, verdict.retry_after);
}

HttpAnswer McpEndpoint::refuse_rate_limited(const std::optional<jsonrpc::RequestId>& id, std::chrono::seconds retry_after) {
  auto answer = refuse(errc::rate_limited, id);
  answer.set_header("Retry-After", std::to_string(retry_after.count()));
  return answer;
}

bool McpEndpoint::is_metadata_path(std::string_view path) const {
  if (auth_ == nullptr) return false;
  const auto& paths = auth_->metadata_paths();
  return std::find(paths.begin(), paths.end(), path) != paths.end();
}

void McpEndpoint::refund(const Caller& caller) {
  if (limiter_) limiter_->refund(caller.limit_key);
}

HttpAnswer McpEndpoint::refuse_auth(const security::Denial& denial) {
  switch (denial.code) {
    case errc::credentials_required: metrics_.count_auth_refusal(Metrics::AuthRefusal::missing); break;
    case errc::insufficient_scope: metrics_.count_auth_refusal(Metrics::AuthRefusal::scope); break;
    case errc::malformed_credentials: metrics_.count_auth_refusal(Metrics::AuthRefusal::malformed); break;
    default: metrics_.count_auth_refusal(Metrics::AuthRefusal::invalid); break;
  }
  // The description goes into the challenge only; the JSON-RPC body says no more than the status.
  auto answer = refuse(denial.code, std::nullopt);
  answer.set_header("WWW-Authenticate", auth_->challenge(denial));
  return answer;
}

HttpAnswer McpEndpoint::preflight(const HttpRequest& req, bool any_origin) {
  ++metrics_.cors_preflights;
  HttpAnswer answer;
  answer.status = 204;
  answer.headers = security::preflight_headers(*req.headers.origin, req.headers.cors_request_headers.value_or(""),
                                               any_origin ? "GET" : kEndpointMethods, any_origin);
  return answer;
}

HttpAnswer McpEndpoint::serve_metadata(const HttpRequest& req) {
  if (auto refusal = front::check_host(req.headers, policy_)) return refuse(req, *refusal);
  if (req.method == "OPTIONS" && req.headers.origin) return preflight(req, true);
  if (!is_get(req.method)) return refuse_verb("GET");
  auto answer = json_answer(200, auth_->metadata_document());
  answer.set_header("Cache-Control", "max-age=300");
  return answer;
}

void McpEndpoint::add_cors_headers(const HttpRequest& req, HttpAnswer& answer) const {
  if (!req.headers.origin || answer.status == 204) return;  // a preflight has its own
  const bool metadata = is_metadata_path(req.path);
  if (!metadata && !http::origin_allowed(*req.headers.origin, policy_.allowed_origins, policy_.loopback_bound)) return;
  for (auto& header : security::response_headers(*req.headers.origin, metadata)) answer.headers.push_back(std::move(header));
}

front::Target McpEndpoint::look_up(const Caller& caller, std::string_view session_id, const HttpRequest& req) {
  auto target = front::look_up(registry_, session_id, caller.owner);
  if (target.foreign) {
    ++metrics_.foreign_session_requests;
    log()->warn("{} {} from {}: {} named a session another principal opened; answered as unknown", req.method,
                req.path, req.remote, caller.display);
  }
  return target;
}

// ---------------------------------------------------------------------------------------------
// Shared checks

admission::Decision McpEndpoint::decide(Verb verb, Body body, Lookup lookup, bool awaiting_initialize,
                                        bool resuming) const {
  return admission::decide({
      .verb = verb,
      .body = body,
      .session = lookup,
      .server_draining = shutting_down_.load(),
      .at_capacity = metrics_.sessions_open.load() >= static_cast<std::int64_t>(config_.max_sessions),
      .draining_answers_404 = config_.draining_status == 404,
      .resuming = resuming,
      .awaiting_initialize = awaiting_initialize,
  });
}

void McpEndpoint::make_resumable(Session& session, const std::shared_ptr<ReplyStream>& stream,
                                 EventLog::StreamKind kind) const {
  const auto& events = session.events();
  if (!events || stream->format() != Format::sse) return;
  const auto number = events->open_stream(kind);
  stream->make_resumable(events, number, mcp::sends_priming_event(session.protocol_version()), config_.sse_retry);
  if (kind == EventLog::StreamKind::post) session.register_stream(number, stream);
}

void McpEndpoint::client_left(const std::weak_ptr<Session>& session, const std::weak_ptr<ReplyStream>& stream) const {
  const auto s = session.lock();
  const auto live = stream.lock();
  if (!s || !live || live->resumed()) return;  // resumed: its new client is there
  auto keys = live->unanswered();
  if (keys.empty()) return;
  if (config_.resume_window.count() > 0 && live->resumable()) {
    log()->debug("session {}: client left a stream with {} request(s) unanswered; they keep running {} ms for a resume",
                 s->id(), keys.size(), config_.resume_window.count());
    s->stop_unless_resumed(stream, std::move(keys), config_.resume_window);
  } else {
    s->stop_requests(keys);
  }
}

HttpAnswer McpEndpoint::sse_answer(std::shared_ptr<ReplyStream> stream, std::function<void()> on_end) {
  auto answer = messages_answer(Format::sse);
  answer.stream = std::move(stream);
  answer.on_stream_end = std::move(on_end);
  return answer;
}

std::optional<HttpAnswer> McpEndpoint::resume(const std::shared_ptr<Session>& session, EventId from) {
  auto replay = session->events()->replay(from);
  if (!replay.known) return std::nullopt;
  auto successor = std::make_shared<ReplyStream>(Format::sse, false, config_.max_queued_events, metrics_);
  session->touch();
  if (replay.kind == EventLog::StreamKind::get) {
    // The standalone stream again: what it missed, then whatever comes, under a new stream number.
    make_resumable(*session, successor, EventLog::StreamKind::get);
    successor->preload(replay.events);
    if (session->attach_stream(successor, true) == Session::AttachResult::attached) {
      log()->debug("session {}: GET stream {} resumed after event {}, {} event(s) replayed", session->id(), from.stream,
                   from.to_string(), replay.events.size());
      const ReplyStream* raw = successor.get();
      return sse_answer(successor, [session, raw] { session->detach_stream(raw); });
    }
    successor->close();  // draining: replay what was missed, then end
  } else if (const auto old = resumable_stream(session->find_stream(from.stream));
             !old || !old->resume_into(successor, from.seq)) {
    successor->preload(replay.events);  // its work is done: replay, then end
    successor->close();
  } else {
    successor->on_gone([this, weak = std::weak_ptr<Session>(session), old_weak = std::weak_ptr<ReplyStream>(old),
                        raw = successor.get()](const std::vector<std::string>&) {
      if (const auto o = old_weak.lock()) o->successor_gone(raw);
      client_left(weak, old_weak);
    });
  }
  log()->debug("session {}: stream {} resumed after event {}, {} event(s) replayed", session->id(), from.stream,
               from.to_string(), replay.events.size());
  return sse_answer(successor, nullptr);
}

HttpAnswer McpEndpoint::refuse(const HttpRequest& req, const front::Refusal& refusal, const Session* session) {
  if (refusal.code == errc::forbidden_origin) {
    log()->warn("refused Origin '{}' from {} (DNS-rebinding defence; see --allowed-origins)",
                req.headers.origin.value_or(""), req.remote);
  } else if (refusal.code == errc::forbidden_host) {
    log()->warn("refused Host '{}' from {} (DNS-rebinding defence; see --allowed-hosts)",
                req.headers.host.value_or("(none)"), req.remote);
  }
  return refuse(refusal.code, refusal.id, session, refusal.detail, refusal.data);
}

HttpAnswer McpEndpoint::refuse_method(const HttpRequest& req, const char* allow) {
  // The DNS-rebinding defence first, as for the verbs we serve: a forged Host learns nothing more.
  if (auto refusal = front::check_caller(req.headers, policy_)) return refuse(req, *refusal);
  return refuse_verb(allow);
}

HttpAnswer McpEndpoint::refuse_verb(const char* allow) {
  auto answer = refuse(errc::method_not_allowed, std::nullopt);
  for (auto& [name, value] : answer.headers) {
    if (name == "Allow") value = allow;
  }
  return answer;
}

HttpAnswer McpEndpoint::refuse(errc e, const std::optional<jsonrpc::RequestId>& id, const Session* session,
                               std::string_view detail, const json& data) {
  const auto& m = mapping_of(e);
  auto answer = json_answer(m.http_status, jsonrpc::serialize(error_response(e, id, detail, data)));
  if (m.http_status == 503) {
    std::chrono::seconds retry = std::chrono::seconds(1);
    if (e == errc::session_draining && session != nullptr) {
      retry = session->retry_after();
    } else if (e == errc::server_draining) {
      retry = server_retry_after();
    } else if (config_.retry_after.count() > 0) {
      retry = config_.retry_after;
    }
    answer.set_header("Retry-After", std::to_string(retry.count()));
  }
  if (m.http_status == 405) answer.set_header("Allow", kEndpointMethods);
  ++metrics_.requests_refused;
  return answer;
}

// ---------------------------------------------------------------------------------------------
// POST

HttpAnswer McpEndpoint::handle_post(const HttpRequest& req, const Caller& caller) {
  const auto post = front::read_post(req.headers, req.body, policy_);
  if (post.refusal) return refuse(req, *post.refusal);
  auto era = route_era(req, post, caller.owner);
  switch (era.route) {
    case EraRoute::refuse: return refuse(era.refusal, post.request_id, nullptr, era.detail, era.data);
    case EraRoute::modern: return handle_modern(req, caller, post);
    case EraRoute::legacy: break;
  }
  return admit_post(req, caller, post, req.headers.session_id.value_or(""), PostEndpoint::streamable, era.tolerated);
}

HttpAnswer McpEndpoint::admit_post(const HttpRequest& req, const Caller& caller, const front::Post& post,
                                   std::string_view session_id, PostEndpoint endpoint, bool version_header_tolerated) {
  const bool legacy = endpoint == PostEndpoint::legacy;
  const auto& decoded = post.decoded;
  const auto& request_id = post.request_id;
  // Charged once the request is admitted, and given back if a drain refuses it after all: a
  // client is never charged for work graceway did not take (docs/security.md, "Rate limits").
  bool charged = false;
  auto charge_once = [&]() -> std::optional<HttpAnswer> {
    if (charged) return std::nullopt;
    auto refused = charge(caller, request_id);
    charged = !refused;
    return refused;
  };
  auto refuse_uncharged = [&](errc e, const Session* session) {
    if (charged) refund(caller);
    return refuse(e, request_id, session);
  };
  for (int attempt = 0; attempt < kAdmissionAttempts; ++attempt) {
    auto target = look_up(caller, session_id, req);
    // At /messages a Streamable HTTP session has no stream to answer on: as if it did not exist.
    if (legacy && target.session && target.session->transport() != SessionTransport::legacy_sse) {
      target = {Lookup::unknown, nullptr};
    }
    const bool awaiting = legacy && target.session && target.session->awaiting_initialize();
    const auto decision = decide(Verb::post, post.body, target.lookup, awaiting);
    switch (decision.action) {
      case Action::refuse:
        return refuse_uncharged(decision.refusal, target.session.get());
      case Action::create_session:
        if (auto refused = charge_once()) return std::move(*refused);
        return initialize(decoded, post.format, caller);
      case Action::initialize_legacy:
        if (auto refused = charge_once()) return std::move(*refused);
        if (!initialize_legacy(target.session, decoded)) continue;  // another got there first
        return json_answer(202, "");
      case Action::accept:
      case Action::handle: {
        // The legacy transport predates MCP-Protocol-Version.
        if (!legacy && !version_header_tolerated) {
          if (auto refusal = front::check_protocol_version(req.headers, request_id)) return refuse(req, *refusal);
        }
        if (decoded.batch && !mcp::allows_batches(target.session->protocol_version())) {
          return refuse(errc::batch_not_supported, std::nullopt);
        }
        if (decision.action == Action::accept) {  // notifications and responses are never charged
          accept_messages(*target.session, decoded);
          return json_answer(202, "");
        }
        if (auto refused = charge_once()) return std::move(*refused);
        if (legacy) {
          // The answers go on the session's stream.
          if (!run_requests(target.session, decoded, legacy_stream_of(*target.session))) continue;
          return json_answer(202, "");
        }
        auto stream = request_stream(target.session, post.format, decoded.batch);
        make_resumable(*target.session, stream, EventLog::StreamKind::post);
        if (!run_requests(target.session, decoded, stream)) continue;  // left open just now: look again
        return respond(stream);
      }
      case Action::open_stream:
      case Action::end_session:
      case Action::open_legacy:
      case Action::serve_stateless:
        break;
    }
    break;
  }
  return refuse_uncharged(errc::session_not_found, nullptr);
}

std::optional<McpEndpoint::Handshake> McpEndpoint::read_initialize(const jsonrpc::Message& request,
                                                                   std::string_view fallback_version) {
  const json& params = request.params;
  const auto requested = params.is_object() ? params.find("protocolVersion") : params.end();
  if (requested == params.end() || !requested->is_string()) return std::nullopt;
  const auto capabilities = params.find("capabilities");
  const auto info = params.find("clientInfo");
  const json client_info = info == params.end() ? json() : *info;
  return Handshake{.version = mcp::negotiate_version(params, fallback_version),
                   .requested = requested->get<std::string>(),
                   .capabilities = capabilities != params.end() && capabilities->is_object() ? *capabilities
                                                                                              : json::object(),
                   .client = jsonrpc::string_member(client_info, "name").value_or("?") + " " +
                             jsonrpc::string_member(client_info, "version").value_or("?")};
}

json McpEndpoint::initialize_answer(const jsonrpc::Message& request, const Handshake* handshake) const {
  if (handshake == nullptr) return error_response(errc::invalid_params, request.id, "\"protocolVersion\" must be a string");
  return jsonrpc::make_result(*request.id, mcp::initialize_result(info_, handshake->version, catalog_));
}

HttpAnswer McpEndpoint::initialize(const jsonrpc::Decoded& decoded, Format format, const Caller& caller) {
  const auto& request = decoded.items.front();
  auto answer = [format](const json& message) {
    auto out = messages_answer(format);
    out.body = format == Format::sse ? ReplyStream::sse_event(message) : jsonrpc::serialize(message);
    return out;
  };
  const auto handshake = read_initialize(request, mcp::kLatestVersion);
  if (!handshake) return answer(initialize_answer(request, nullptr));
  auto session = registry_.create(handshake->version, handshake->capabilities, SessionTransport::streamable_http,
                                  caller.owner);
  if (!session) {
    refund(caller);
    return refuse(registry_.admissions_closed() ? errc::server_draining : errc::too_many_sessions, request.id);
  }
  if (auto refusal = handler_.open_session(session)) {
    session->begin_drain(EndReason::server_gone, std::chrono::milliseconds(0));  // nothing in flight: closes now
    refund(caller);
    return refuse(refusal->error, request.id, nullptr, refusal->detail);
  }
  if (handler_.forwards_initialize()) {
    log()->info("session {}: -> open (initialize, asking for protocol {}, forwarded to its MCP server; {}; {})",
                session->id(), handshake->requested, handshake->client, caller.display);
    auto stream = request_stream(session, format, false);
    if (!run_requests(session, decoded, stream)) {
      refund(caller);
      return refuse(errc::server_draining, request.id);
    }
    auto out = respond(stream);
    out.set_header(kSessionHeader, session->id());
    return out;
  }
  log()->info("session {}: -> open (initialize; protocol {}, asked {}; {}; {})", session->id(), handshake->version,
              handshake->requested, handshake->client, caller.display);
  auto out = answer(initialize_answer(request, &*handshake));
  out.set_header(kSessionHeader, session->id());
  return out;
}

void McpEndpoint::accept_messages(Session& session, const jsonrpc::Decoded& decoded) {
  for (const auto& item : decoded.items) {
    switch (item.kind) {
      case jsonrpc::Kind::notification: handler_.handle_notification(session, item); break;
      case jsonrpc::Kind::response:
      case jsonrpc::Kind::error_response: handler_.handle_response(session, item); break;
      case jsonrpc::Kind::invalid:  // such a body needs an answer: run_requests takes it
      case jsonrpc::Kind::request: break;  // not in an accept-only body
    }
  }
}

bool McpEndpoint::run_requests(const std::shared_ptr<Session>& session, const jsonrpc::Decoded& decoded,
                               const std::shared_ptr<Outbox>& stream) {
  const errc draining = config_.draining_status == 404 ? errc::session_terminated : errc::session_draining;
  for (const auto& item : decoded.items) {
    switch (item.kind) {
      case jsonrpc::Kind::notification: handler_.handle_notification(*session, item); break;
      case jsonrpc::Kind::response:
      case jsonrpc::Kind::error_response: handler_.handle_response(*session, item); break;
      case jsonrpc::Kind::invalid:
        deliver(stream, *session, error_response(item.problem, item.id, item.detail));
        break;
      case jsonrpc::Kind::request: {
        std::stop_source stop;
        // Admission registers the response slot too (only when admitted): a refused duplicate
        // must not take over the slot of the request already in flight under that id.
        auto begin = session->begin_request({*item.id, stop, stream});
        switch (begin.result) {
          case Session::BeginResult::admitted:
            handler_.handle_request(session, item, stream, std::move(begin.guard), stop.get_token());
            break;
          case Session::BeginResult::duplicate_id:
            log()->debug("session {}: request id {} is already in flight; refused", session->id(),
                         jsonrpc::key_of(*item.id));
            deliver(stream, *session, error_response(errc::duplicate_request_id, item.id));
            break;
          case Session::BeginResult::not_open:
            if (!decoded.batch) return false;
            deliver(stream, *session, error_response(draining, item.id));
            break;
        }
        break;
      }
    }
  }
  return true;
}

std::shared_ptr<ReplyStream> McpEndpoint::request_stream(const std::shared_ptr<Session>& session, Format format,
                                                         bool batch) {
  auto stream = std::make_shared<ReplyStream>(format, batch, config_.max_queued_events, metrics_);
  stream->on_gone([this, weak = std::weak_ptr<Session>(session),
                   weak_stream = std::weak_ptr<ReplyStream>(stream)](const std::vector<std::string>&) {
    client_left(weak, weak_stream);
  });
  return stream;
}

HttpAnswer McpEndpoint::respond(const std::shared_ptr<ReplyStream>& stream) {
  if (stream->finished()) {
    // A lazy stream answered before respond(): settled, with the status its response picked.
    const auto head = stream->settled();
    auto answer = messages_answer(head ? head->format : stream->format());
    if (head) answer.status = head->status;
    answer.body = stream->take_body();  // everything answered already
    stream->delivered();  // written whole, in one body: nothing to keep for a resume
    return answer;
  }
  auto answer = messages_answer(stream->format());
  answer.stream = stream;
  answer.on_stream_end = [stream] { stream->delivered(); };
  return answer;
}

// ---------------------------------------------------------------------------------------------
// GET and DELETE

HttpAnswer McpEndpoint::handle_get(const HttpRequest& req, const Caller& caller) {
  const auto& headers = req.headers;
  if (auto refusal = front::check_get(headers, policy_)) return refuse(req, *refusal);
  const auto session_id = headers.session_id.value_or("");
  const auto resume_from = headers.last_event_id ? EventId::parse(*headers.last_event_id) : std::nullopt;
  bool charged = false;
  for (int attempt = 0; attempt < kAdmissionAttempts; ++attempt) {
    auto target = look_up(caller, session_id, req);
    auto decision = decide(Verb::get, Body::none, target.lookup, false, resume_from.has_value());
    if (decision.action == Action::refuse) {
      if (charged) refund(caller);
      return refuse(decision.refusal, std::nullopt, target.session.get());
    }
    if (decision.action != Action::open_stream) break;
    if (auto refusal = front::check_protocol_version(headers, std::nullopt)) return refuse(req, *refusal);
    if (!charged) {
      if (auto refused = charge(caller, std::nullopt)) return std::move(*refused);
      charged = true;
    }
    if (resume_from && target.session->events()) {
      if (auto resumed = resume(target.session, *resume_from)) return std::move(*resumed);
    }
    if (resume_from) {
      // An id this session does not know: a plain GET stream, admitted as one.
      log()->debug("session {}: Last-Event-ID '{}' names no stream we keep; opening a new stream", session_id,
                   *headers.last_event_id);
      decision = decide(Verb::get, Body::none, target.lookup);
      if (decision.action == Action::refuse) {
        refund(caller);
        return refuse(decision.refusal, std::nullopt, target.session.get());
      }
    }
    auto stream = std::make_shared<ReplyStream>(Format::sse, false, config_.max_queued_events, metrics_);
    make_resumable(*target.session, stream, EventLog::StreamKind::get);
    switch (target.session->attach_stream(stream)) {
      case Session::AttachResult::conflict:
        refund(caller);
        return refuse(errc::stream_conflict, std::nullopt);
      case Session::AttachResult::not_open:
        continue;
      case Session::AttachResult::attached: {
        const ReplyStream* raw = stream.get();
        return sse_answer(stream, [session = target.session, stream, raw] {
          session->detach_stream(raw);
          stream->close();  // ended: a resume replays what is left of it, then ends
        });
      }
    }
  }
  if (charged) refund(caller);
  return refuse(errc::session_not_found, std::nullopt);
}

// A DELETE is never charged: limiting it would stop clients from cleaning up.
HttpAnswer McpEndpoint::handle_delete(const HttpRequest& req, const Caller& caller) {
  const auto& headers = req.headers;
  if (auto refusal = front::check_caller(headers, policy_)) return refuse(req, *refusal);
  auto target = look_up(caller, headers.session_id.value_or(""), req);
  const auto decision = decide(Verb::del, Body::none, target.lookup);
  if (decision.action != Action::end_session) return refuse(decision.refusal, std::nullopt, target.session.get());
  if (auto refusal = front::check_protocol_version(headers, std::nullopt)) return refuse(req, *refusal);
  // Answers at once: the drain runs on its own (docs/architecture.md, "Session lifecycle").
  target.session->begin_drain(EndReason::remote_delete, config_.drain_timeout);
  HttpAnswer answer;
  answer.status = 200;
  return answer;
}

// ---------------------------------------------------------------------------------------------
// Legacy HTTP+SSE (2024-11-05): GET --sse-path opens a session whose one stream carries every
// response and server message; the client POSTs its messages to --messages-path?sessionId=<id>
// and gets 202 at once. Closing the stream is the session's DELETE.

HttpAnswer McpEndpoint::handle_sse_open(const HttpRequest& req, const Caller& caller) {
  const auto& headers = req.headers;
  if (auto refusal = front::check_get(headers, policy_)) return refuse(req, *refusal);
  const auto decision = decide(Verb::sse_open, Body::none, Lookup::no_id);
  if (decision.action != Action::open_legacy) return refuse(decision.refusal, std::nullopt);
  if (auto refused = charge(caller, std::nullopt)) return std::move(*refused);
  auto session = registry_.create(std::string(mcp::kLegacySseVersion), json::object(), SessionTransport::legacy_sse,
                                  caller.owner);
  if (!session) {
    refund(caller);
    return refuse(registry_.admissions_closed() ? errc::server_draining : errc::too_many_sessions, std::nullopt);
  }
  auto stream = std::make_shared<ReplyStream>(Format::sse, false, config_.max_queued_events, metrics_);
  stream->carry_responses_until_closed();
  // The client leaving is its DELETE: the session drains, and admitted work keeps running for
  // the window; what it writes afterwards is dropped and counted.
  stream->on_gone([weak = std::weak_ptr<Session>(session), window = config_.drain_timeout](
                      const std::vector<std::string>&) {
    if (auto s = weak.lock()) s->begin_drain(EndReason::stream_closed, window);
  });
  // A relative URI, as SDK servers send it (docs/legacy-sse.md).
  stream->push_event("endpoint", config_.messages_path + "?sessionId=" + http::percent_encode(session->id()));
  if (session->attach_stream(stream) != Session::AttachResult::attached) {
    // Only a shutdown that closed the session in between gets here.
    refund(caller);
    return refuse(errc::server_draining, std::nullopt);
  }
  log()->info("session {}: -> open (legacy HTTP+SSE stream; awaiting initialize)", session->id());
  const ReplyStream* raw = stream.get();
  return sse_answer(stream, [session, raw] { session->detach_stream(raw); });
}

HttpAnswer McpEndpoint::handle_messages(const HttpRequest& req, const Caller& caller) {
  const auto post = front::read_post(req.headers, req.body, policy_);
  if (post.refusal) return refuse(req, *post.refusal);
  const auto session_id = legacy_session_param(req.query);
  if (session_id.empty()) return refuse(errc::session_param_required, post.request_id);
  return admit_post(req, caller, post, session_id, PostEndpoint::legacy);
}

bool McpEndpoint::initialize_legacy(const std::shared_ptr<Session>& session, const jsonrpc::Decoded& decoded) {
  const auto& request = decoded.items.front();
  const auto stream = legacy_stream_of(*session);
  const auto handshake = read_initialize(request, mcp::kLegacySseVersion);
  if (handshake) {
    if (!session->initialize(handshake->version, handshake->capabilities)) return false;
    log()->info("session {}: initialized (legacy HTTP+SSE; protocol {}, asked {}; {})", session->id(),
                handshake->version, handshake->requested, handshake->client);
    if (handler_.forwards_initialize()) {
      if (auto refusal = handler_.open_session(session)) {
        deliver(stream, *session, error_response(refusal->error, request.id, refusal->detail));
        session->begin_drain(EndReason::server_gone, std::chrono::milliseconds(0));
        return true;
      }
      return run_requests(session, decoded, stream);
    }
  }
  // Without a version the session stays uninitialized: the client may send a corrected one.
  deliver(stream, *session, initialize_answer(request, handshake ? &*handshake : nullptr));
  return true;
}

void McpEndpoint::deliver(const std::shared_ptr<Outbox>& stream, const Session& session,
                                 const json& message) {
  // Keys of their own, so they can never collide with a request's key_of(id).
  const auto key = "#direct-" + std::to_string(++direct_keys_);
  stream->expect(key);
  if (!stream->complete(key, message)) {
    log()->debug("session {}: message dropped: its stream is gone", session.id());
  }
}

std::shared_ptr<Outbox> McpEndpoint::legacy_stream_of(const Session& session) {
  if (auto stream = session.attached_stream()) return stream;
  // The stream detached (its client left; the session drains): writes go nowhere, counted.
  auto gone = std::make_shared<ReplyStream>(Format::sse, false, 1, metrics_);
  gone->carry_responses_until_closed();
  gone->mark_gone();
  return gone;
}

}  // namespace graceway
