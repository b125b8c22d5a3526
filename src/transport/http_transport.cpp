#include "transport/http_transport.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "graceway/logging.hpp"
#include "mcp/protocol.hpp"
#include "session/session_registry.hpp"
#include "transport/elastic_task_queue.hpp"
#include "transport/error_mapping.hpp"
#include "transport/http_headers.hpp"
#include "transport/request_front.hpp"
#include "transport/sse.hpp"

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
constexpr const char* kVersionHeader = "MCP-Protocol-Version";
constexpr const char* kJson = "application/json";
constexpr const char* kEventStream = "text/event-stream";
// A session only moves forward (open -> draining -> closed), so asking the table a third time
// always settles; the bound is a guard, not a retry policy.
constexpr int kAdmissionAttempts = 3;

const char* content_type_of(ReplyStream::Format format) {
  return format == ReplyStream::Format::sse ? kEventStream : kJson;
}

// A 200 carrying JSON-RPC messages in `format`; returns the Content-Type to send them with.
const char* begin_response(httplib::Response& res, ReplyStream::Format format) {
  res.status = 200;
  if (format == ReplyStream::Format::sse) {
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");  // nginx: do not buffer the stream
  }
  return content_type_of(format);
}

// The request's headers as the request front reads them; views into `req`, which outlives them.
front::Headers headers_of(const httplib::Request& req) {
  auto find = [&req](const char* name) -> std::optional<std::string_view> {
    const auto it = req.headers.find(name);
    if (it == req.headers.end()) return std::nullopt;
    return std::string_view(it->second);
  };
  return {.content_type = find("Content-Type"),
          .accept = find("Accept"),
          .origin = find("Origin"),
          .host = find("Host"),
          .protocol_version = find(kVersionHeader),
          .session_id = find(kSessionHeader),
          .last_event_id = find("Last-Event-ID")};
}

// The query parameter carrying the session on the legacy messages endpoint: TS SDK servers name
// it sessionId, Python SDK servers session_id; clients copy whatever the endpoint event said.
std::string legacy_session_param(const httplib::Request& req) {
  if (req.has_param("sessionId")) return req.get_param_value("sessionId");
  return req.get_param_value("session_id");
}

// Percent-encodes everything but RFC 3986 unreserved characters (session ids are visible ASCII,
// which may include '&', '#', '+' and the like).
std::string query_escape(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : value) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4U]);
      out.push_back(kHex[c & 0x0FU]);
    }
  }
  return out;
}

// The methods httplib can route (HEAD goes to the GET handlers).
bool is_routed_method(std::string_view method) {
  for (const std::string_view routed : {"GET", "HEAD", "POST", "DELETE", "PUT", "PATCH", "OPTIONS"}) {
    if (method == routed) return true;
  }
  return false;
}

errc status_to_errc(int status) {
  switch (status) {
    case 413: return errc::payload_too_large;
    case 404: return errc::not_found;
    case 405: return errc::method_not_allowed;
    case 400:
    case 414:
    case 416:
    case 431: return errc::invalid_request;
    default: return errc::internal_error;
  }
}

}  // namespace

HttpTransport::HttpTransport(const ServerConfig& config, const ServerInfo& info, const Clock& clock,
                             SessionRegistry& registry, mcp::Dispatcher& dispatcher, Metrics& metrics)
    : config_(config), info_(info), clock_(clock), registry_(registry), dispatcher_(dispatcher), metrics_(metrics),
      policy_(front::Policy::from(config)), http_(std::make_unique<httplib::Server>()) {
  auto& s = *http_;
  s.new_task_queue = [this] {
    return new ElasticTaskQueue(config_.http_threads, config_.http_queue, config_.http_queue_timeout, metrics_);
  };
  s.set_tcp_nodelay(true);  // SSE events are small; Nagle would hold them back
  s.set_keep_alive_max_count(config.http_keepalive_requests);
  s.set_keep_alive_timeout(std::max<time_t>(1, static_cast<time_t>(config.http_keepalive_timeout.count() / 1000)));
  s.set_read_timeout(config.http_read_timeout);
  s.set_write_timeout(config.http_write_timeout);
  s.set_payload_max_length(config.max_body_bytes);
  // Replaces httplib's default (SO_REUSEPORT, which would let a second server share our port)
  // and remembers the listening socket so bind() can raise the backlog.
  s.set_socket_options([this](int fd) {
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_fd_ = fd;
  });
  install_routes();
}

HttpTransport::~HttpTransport() { stop(); }

std::error_code HttpTransport::bind() {
  int bound = -1;
  if (config_.port == 0) {
    bound = http_->bind_to_any_port(config_.host);
  } else if (http_->bind_to_port(config_.host, config_.port)) {
    bound = config_.port;
  }
  if (bound <= 0) {
    const int err = errno != 0 ? errno : EADDRNOTAVAIL;
    return {err, std::generic_category()};
  }
  port_ = static_cast<std::uint16_t>(bound);
  // Debian's cpp-httplib is built with a listen backlog of 5; a burst of connections would
  // otherwise wait for SYN retransmits. listen() on a listening socket updates the backlog.
  if (listen_fd_ >= 0) ::listen(listen_fd_, config_.listen_backlog);
  return {};
}

void HttpTransport::start() {
  listener_ = std::thread([this] { http_->listen_after_bind(); });
  // stop() is a no-op until httplib marks itself running, so wait for that here.
  while (!http_->is_running()) std::this_thread::yield();
  log()->info("listening on http://{}:{}{} ({} HTTP threads max, {} tool threads)", config_.host, port_, config_.path,
              config_.http_threads, config_.tool_threads);
}

void HttpTransport::begin_shutdown(Clock::time_point deadline) {
  shutdown_deadline_.store(deadline);
  shutting_down_.store(true);
}

bool HttpTransport::wait_streams_closed(std::chrono::steady_clock::time_point give_up) {
  std::unique_lock lock(streams_mu_);
  return streams_cv_.wait_until(lock, give_up, [this] { return streams_ == 0; });
}

void HttpTransport::stop() {
  if (!listener_.joinable()) return;
  http_->stop();
  wake_idle_connections();
  listener_.join();
}

void HttpTransport::wake_idle_connections() const {
  // httplib re-checks for shutdown only between requests, so a connection idling in keep-alive
  // would hold its thread (and this stop) for up to --http-keepalive-timeout. httplib gives no
  // handle on accepted sockets; ours are the sockets whose local port is the listener's. Shutting
  // down their read side makes the idle wait see EOF at once; writes are unaffected. Streams have
  // already finished by now (Server::wait), so only idle or refused connections remain.
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return;
  int woken = 0;
  // readdir on a DIR* that no other thread touches is safe (readdir_r is deprecated).
  while (const dirent* entry = ::readdir(dir)) {  // NOLINT(concurrency-mt-unsafe)
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == ::dirfd(dir)) continue;
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    if (::getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&local), &len) != 0) continue;
    std::uint16_t port = 0;
    if (local.ss_family == AF_INET) {
      port = ntohs(reinterpret_cast<const sockaddr_in*>(&local)->sin_port);
    } else if (local.ss_family == AF_INET6) {
      port = ntohs(reinterpret_cast<const sockaddr_in6*>(&local)->sin6_port);
    }
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof peer;
    if (port != port_ || ::getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) {
      continue;  // not ours, or the listening socket itself
    }
    if (::shutdown(static_cast<int>(fd), SHUT_RD) == 0) ++woken;
  }
  ::closedir(dir);
  if (woken > 0) log()->debug("stop: closed {} idle connection(s)", woken);
}

std::chrono::seconds HttpTransport::server_retry_after() const {
  if (config_.retry_after.count() > 0) return config_.retry_after;
  const auto left = std::chrono::ceil<std::chrono::seconds>(shutdown_deadline_.load() - clock_.now());
  return std::max(left, std::chrono::seconds(1));
}

// ---------------------------------------------------------------------------------------------
// Routes

void HttpTransport::install_routes() {
  auto& s = *http_;
  const std::string& path = config_.path;

  s.set_pre_routing_handler([this](const Request& req, Response& res) {
    if (ElasticTaskQueue::in_overflow_lane()) {
      res.set_header("Connection", "close");
      refuse(res, errc::server_overloaded, std::nullopt);
      return httplib::Server::HandlerResponse::Handled;
    }
    // httplib has no route for TRACE or CONNECT and would answer 400; on the endpoint they get
    // the 405 every other unserved verb gets (checklist 1.8). The body, if any, is never read,
    // so the connection closes after the answer.
    if (req.path == config_.path && !is_routed_method(req.method)) {
      res.set_header("Connection", "close");
      refuse_method(req, res);
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  // A POST with a body comes through the content reader: httplib checks --max-body-bytes against
  // Content-Length, but not on a chunked body, which it would buffer without a limit. Reading it
  // here stops at the limit (413), whatever the framing. Bodiless POSTs take the plain route.
  s.Post(path, [this](const Request& req, Response& res, const httplib::ContentReader& read) {
    std::string body;
    bool too_large = false;
    const bool complete = read([&](const char* data, std::size_t size) {
      if (size > config_.max_body_bytes - body.size()) {
        too_large = true;
        return false;
      }
      body.append(data, size);
      return true;
    });
    if (!complete) {
      // The rest of the body stays unread, so the connection cannot carry another request.
      res.set_header("Connection", "close");
      return refuse(res, too_large || res.status == 413 ? errc::payload_too_large : errc::invalid_request,
                    std::nullopt);
    }
    handle_post(req, body, res);
  });
  s.Post(path, [this](const Request& req, Response& res) { handle_post(req, req.body, res); });
  s.Get(path, [this](const Request& req, Response& res) { handle_get(req, res); });
  s.Delete(path, [this](const Request& req, Response& res) { handle_delete(req, res); });
  auto not_allowed = [this](const Request& req, Response& res) { refuse_method(req, res); };
  s.Put(path, not_allowed);
  s.Patch(path, not_allowed);
  s.Options(path, not_allowed);

  if (config_.legacy_sse) {
    // Each path with and without a trailing slash, answered in place: a redirect would lose the
    // POST body with some clients (spec-checklist.md section 3.2).
    auto only = [this](const char* allow) {
      return [this, allow](const Request&, Response& res) {
        refuse(res, errc::method_not_allowed, std::nullopt);
        res.headers.erase("Allow");
        res.set_header("Allow", allow);
      };
    };
    for (const auto& route : {config_.sse_path, config_.sse_path + "/"}) {
      s.Get(route, [this](const Request& req, Response& res) { handle_sse_open(req, res); });
      s.Post(route, only("GET"));
      s.Delete(route, only("GET"));
      s.Put(route, only("GET"));
      s.Patch(route, only("GET"));
      s.Options(route, only("GET"));
    }
    for (const auto& route : {config_.messages_path, config_.messages_path + "/"}) {
      s.Post(route, [this](const Request& req, Response& res) { handle_messages(req, res); });
      s.Get(route, only("POST"));
      s.Delete(route, only("POST"));
      s.Put(route, only("POST"));
      s.Patch(route, only("POST"));
      s.Options(route, only("POST"));
    }
  }

  s.Get("/healthz", [](const Request&, Response& res) { res.set_content(R"({"status":"ok"})", kJson); });
  s.Get("/readyz", [this](const Request&, Response& res) {
    if (shutting_down_.load()) {
      res.status = 503;
      res.set_content(R"({"status":"draining"})", kJson);
    } else {
      res.set_content(R"({"status":"ready"})", kJson);
    }
  });
  s.Get("/metrics", [this](const Request&, Response& res) {
    res.set_content(metrics_.render_prometheus(), "text/plain; version=0.0.4");
  });

  // httplib's own errors (no route, body over the limit, bad request line) get a JSON-RPC body
  // like ours do. Responses we built already carry one.
  s.set_error_handler(httplib::Server::HandlerWithResponse([](const Request&, Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    const errc e = status_to_errc(res.status);
    if (res.status == 405) res.set_header("Allow", "GET, POST, DELETE");
    res.set_content(jsonrpc::serialize(error_response(e, std::nullopt)), kJson);
    return httplib::Server::HandlerResponse::Handled;
  }));
  s.set_exception_handler([](const Request& req, Response& res, const std::exception_ptr& ep) {
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    log()->error("{} {}: handler threw: {}", req.method, req.path, what);
    res.status = 500;
    res.set_content(jsonrpc::serialize(error_response(errc::internal_error, std::nullopt)), kJson);
  });
  s.set_logger([](const Request& req, const Response& res) {
    if (!log()->should_log(spdlog::level::debug)) return;  // runs for every request
    log()->debug("{} {} -> {} (session {})", req.method, req.path, res.status,
                 req.has_header(kSessionHeader) ? req.get_header_value(kSessionHeader) : "-");
  });
}

// ---------------------------------------------------------------------------------------------
// Shared checks

HttpTransport::Target HttpTransport::look_up(std::string_view session_id) const {
  return front::look_up(registry_, session_id);
}

admission::Decision HttpTransport::decide(Verb verb, Body body, Lookup lookup, bool awaiting_initialize,
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

void HttpTransport::make_resumable(Session& session, const std::shared_ptr<ReplyStream>& stream,
                                   EventLog::StreamKind kind) const {
  const auto& events = session.events();
  if (!events || stream->format() != Format::sse) return;
  const auto number = events->open_stream(kind);
  stream->make_resumable(events, number, mcp::sends_priming_event(session.protocol_version()), config_.sse_retry);
  if (kind == EventLog::StreamKind::post) session.register_stream(number, stream);
}

void HttpTransport::client_left(const std::weak_ptr<Session>& session, const std::weak_ptr<ReplyStream>& stream) const {
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

bool HttpTransport::resume(Response& res, const std::shared_ptr<Session>& session, EventId from) {
  auto replay = session->events()->replay(from);
  if (!replay.known) return false;
  auto successor = std::make_shared<ReplyStream>(Format::sse, false, config_.max_queued_events, metrics_);
  session->touch();
  if (replay.kind == EventLog::StreamKind::get) {
    // The standalone stream again: what it missed, then whatever comes, under a new stream number.
    make_resumable(*session, successor, EventLog::StreamKind::get);
    successor->preload(replay.events);
    if (session->attach_stream(successor, true) == Session::AttachResult::attached) {
      log()->debug("session {}: GET stream {} resumed after event {}, {} event(s) replayed", session->id(), from.stream,
                   from.to_string(), replay.events.size());
      begin_response(res, Format::sse);
      const ReplyStream* raw = successor.get();
      serve_stream(res, successor, config_.get_stream_check_interval, [session, raw] { session->detach_stream(raw); });
      return true;
    }
    successor->close();  // draining: replay what was missed, then end
  } else if (const auto old = session->find_stream(from.stream); !old || !old->resume_into(successor, from.seq)) {
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
  begin_response(res, Format::sse);
  serve_stream(res, successor, config_.disconnect_check_interval, nullptr);
  return true;
}

void HttpTransport::refuse(const Request& req, Response& res, const front::Refusal& refusal, const Session* session) {
  if (refusal.code == errc::forbidden_origin) {
    log()->warn("refused Origin '{}' from {} (DNS-rebinding defence; see --allowed-origins)",
                req.get_header_value("Origin"), req.remote_addr);
  } else if (refusal.code == errc::forbidden_host) {
    log()->warn("refused Host '{}' from {} (DNS-rebinding defence; see --allowed-hosts)",
                req.has_header("Host") ? req.get_header_value("Host") : "(none)", req.remote_addr);
  }
  refuse(res, refusal.code, refusal.id, session, refusal.detail, refusal.data);
}

void HttpTransport::refuse_method(const Request& req, Response& res) {
  // The DNS-rebinding defence first, as for the verbs we serve: a forged Host learns nothing more.
  if (auto refusal = front::check_caller(headers_of(req), policy_)) return refuse(req, res, *refusal);
  refuse(res, errc::method_not_allowed, std::nullopt);
}

void HttpTransport::refuse(Response& res, errc e, const std::optional<jsonrpc::RequestId>& id, const Session* session,
                           std::string_view detail, const json& data) {
  const auto& m = mapping_of(e);
  res.status = m.http_status;
  if (m.http_status == 503) {
    std::chrono::seconds retry = std::chrono::seconds(1);
    if (e == errc::session_draining && session != nullptr) {
      retry = session->retry_after();
    } else if (e == errc::server_draining) {
      retry = server_retry_after();
    } else if (config_.retry_after.count() > 0) {
      retry = config_.retry_after;
    }
    res.set_header("Retry-After", std::to_string(retry.count()));
  }
  if (m.http_status == 405) res.set_header("Allow", "GET, POST, DELETE");
  res.set_content(jsonrpc::serialize(error_response(e, id, detail, data)), kJson);
  ++metrics_.requests_refused;
}

// ---------------------------------------------------------------------------------------------
// POST

void HttpTransport::handle_post(const Request& req, std::string_view body, Response& res) {
  const auto headers = headers_of(req);
  const auto post = front::read_post(headers, body, policy_);
  if (post.refusal) return refuse(req, res, *post.refusal);
  admit_post(req, headers, post, headers.session_id.value_or(""), PostEndpoint::streamable, res);
}

void HttpTransport::admit_post(const Request& req, const front::Headers& headers, const front::Post& post,
                               std::string_view session_id, PostEndpoint endpoint, Response& res) {
  const bool legacy = endpoint == PostEndpoint::legacy;
  const auto& decoded = post.decoded;
  const auto& request_id = post.request_id;
  for (int attempt = 0; attempt < kAdmissionAttempts; ++attempt) {
    auto target = look_up(session_id);
    // At /messages a Streamable HTTP session has no stream to answer on: as if it did not exist.
    if (legacy && target.session && target.session->transport() != SessionTransport::legacy_sse) {
      target = {Lookup::unknown, nullptr};
    }
    const bool awaiting = legacy && target.session && target.session->awaiting_initialize();
    const auto decision = decide(Verb::post, post.body, target.lookup, awaiting);
    switch (decision.action) {
      case Action::refuse:
        return refuse(res, decision.refusal, request_id, target.session.get());
      case Action::create_session:
        initialize(res, decoded.items.front(), post.format);
        return;
      case Action::initialize_legacy:
        if (!initialize_legacy(*target.session, decoded.items.front())) continue;  // another got there first
        res.status = 202;
        return;
      case Action::accept:
      case Action::handle:
        // The legacy transport predates MCP-Protocol-Version.
        if (!legacy) {
          if (auto refusal = front::check_protocol_version(headers, request_id)) return refuse(req, res, *refusal);
        }
        if (decoded.batch && !mcp::allows_batches(target.session->protocol_version())) {
          return refuse(res, errc::batch_not_supported, std::nullopt);
        }
        if (decision.action == Action::accept) {
          accept_messages(*target.session, decoded);
          res.status = 202;
          return;
        }
        if (legacy ? !run_legacy_requests(target.session, decoded) : !run_requests(res, target.session, decoded, post.format)) {
          continue;  // the session left open just now: look again
        }
        if (legacy) res.status = 202;  // the answers go on the session's stream
        return;
      case Action::open_stream:
      case Action::end_session:
      case Action::open_legacy:
        break;
    }
    break;
  }
  refuse(res, errc::session_not_found, request_id);
}

void HttpTransport::initialize(Response& res, const jsonrpc::Message& request, Format format) {
  const json& params = request.params;
  const auto requested = params.is_object() ? params.find("protocolVersion") : params.end();
  auto answer = [&](const json& message) {
    const char* type = begin_response(res, format);
    res.set_content(format == Format::sse ? ReplyStream::sse_event(message) : jsonrpc::serialize(message), type);
  };
  if (requested == params.end() || !requested->is_string()) {
    answer(error_response(errc::invalid_params, request.id, "\"protocolVersion\" must be a string"));
    return;
  }
  const auto version = mcp::negotiate_version(params);
  const auto capabilities = params.find("capabilities");
  auto session = registry_.create(version, capabilities != params.end() && capabilities->is_object()
                                               ? *capabilities
                                               : json::object());
  if (!session) {
    refuse(res, registry_.admissions_closed() ? errc::server_draining : errc::too_many_sessions, request.id);
    return;
  }
  const auto info = params.find("clientInfo");
  const json client_info = info == params.end() ? json() : *info;
  const std::string client = jsonrpc::string_member(client_info, "name").value_or("?") + " " +
                             jsonrpc::string_member(client_info, "version").value_or("?");
  log()->info("session {}: -> open (initialize; protocol {}, asked {}; {})", session->id(), version,
              requested->get<std::string>(), client);
  res.set_header(kSessionHeader, session->id());
  answer(jsonrpc::make_result(*request.id, mcp::initialize_result(info_, version, dispatcher_.catalog())));
}

void HttpTransport::accept_messages(Session& session, const jsonrpc::Decoded& decoded) {
  for (const auto& item : decoded.items) {
    switch (item.kind) {
      case jsonrpc::Kind::notification: dispatcher_.handle_notification(session, item); break;
      case jsonrpc::Kind::response:
      case jsonrpc::Kind::error_response: dispatcher_.handle_response(session, item); break;
      case jsonrpc::Kind::invalid:  // such a body needs an answer: run_requests takes it
      case jsonrpc::Kind::request: break;  // not in an accept-only body
    }
  }
}

bool HttpTransport::run_requests(Response& res, const std::shared_ptr<Session>& session,
                                 const jsonrpc::Decoded& decoded, Format format) {
  auto stream = std::make_shared<ReplyStream>(format, decoded.batch, config_.max_queued_events, metrics_);
  make_resumable(*session, stream, EventLog::StreamKind::post);
  stream->on_gone([this, weak = std::weak_ptr<Session>(session),
                   weak_stream = std::weak_ptr<ReplyStream>(stream)](const std::vector<std::string>&) {
    client_left(weak, weak_stream);
  });
  const errc draining = config_.draining_status == 404 ? errc::session_terminated : errc::session_draining;
  std::size_t index = 0;
  for (const auto& item : decoded.items) {
    ++index;
    switch (item.kind) {
      case jsonrpc::Kind::notification: dispatcher_.handle_notification(*session, item); break;
      case jsonrpc::Kind::response:
      case jsonrpc::Kind::error_response: dispatcher_.handle_response(*session, item); break;
      case jsonrpc::Kind::invalid: {
        const auto key = "#invalid-" + std::to_string(index);  // cannot collide with key_of()
        stream->expect(key);
        stream->complete(key, error_response(item.problem, item.id, item.detail));
        break;
      }
      case jsonrpc::Kind::request: {
        const auto key = jsonrpc::key_of(*item.id);
        stream->expect(key);
        std::stop_source stop;
        auto begin = session->begin_request({*item.id, stop, stream});
        switch (begin.result) {
          case Session::BeginResult::admitted:
            dispatcher_.handle_request(session, item, stream, std::move(begin.guard), stop.get_token());
            break;
          case Session::BeginResult::duplicate_id:
            stream->complete(key, error_response(errc::duplicate_request_id, item.id));
            break;
          case Session::BeginResult::not_open:
            if (!decoded.batch) return false;
            stream->complete(key, error_response(draining, item.id));
            break;
        }
        break;
      }
    }
  }
  respond(res, stream);
  return true;
}

void HttpTransport::respond(Response& res, const std::shared_ptr<ReplyStream>& stream) {
  const char* content_type = begin_response(res, stream->format());
  if (stream->finished()) {
    res.set_content(stream->take_body(), content_type);  // everything answered already
    stream->delivered();  // written whole, in one body: nothing to keep for a resume
    return;
  }
  serve_stream(res, stream, config_.disconnect_check_interval, [stream] { stream->delivered(); });
}

void HttpTransport::serve_stream(Response& res, const std::shared_ptr<ReplyStream>& stream,
                                 std::chrono::milliseconds check_interval, std::function<void()> on_end) {
  {
    std::lock_guard lock(streams_mu_);
    ++streams_;
  }
  ++metrics_.streams_open;
  const char* content_type = content_type_of(stream->format());
  const bool keepalive = stream->format() == Format::sse && config_.keepalive_interval.count() > 0;
  res.set_chunked_content_provider(
      content_type,
      [this, stream, keepalive, check_interval, last_write = std::chrono::steady_clock::now()](
          std::size_t, httplib::DataSink& sink) mutable {
        std::string out;
        switch (stream->next(check_interval, out)) {
          case ReplyStream::Next::data:
            if (!sink.write(out.data(), out.size())) {
              stream->mark_gone();
              return false;
            }
            last_write = std::chrono::steady_clock::now();
            return true;
          case ReplyStream::Next::end:
            if (stream->gone()) return false;
            sink.done();
            return true;
          case ReplyStream::Next::idle:
            break;
        }
        // Nothing to send: is the client still there? (httplib peeks for EOF.)
        if (!sink.is_writable()) {
          stream->mark_gone();
          return false;
        }
        const auto now = std::chrono::steady_clock::now();
        if (keepalive && now - last_write >= config_.keepalive_interval) {
          static const std::string comment = sse::comment("keepalive");
          if (!sink.write(comment.data(), comment.size())) {
            stream->mark_gone();
            return false;
          }
          last_write = now;
        }
        return true;
      },
      [this, stream, on_end = std::move(on_end)](bool success) {
        if (!success) stream->mark_gone();
        if (on_end) on_end();
        --metrics_.streams_open;
        std::lock_guard lock(streams_mu_);
        if (--streams_ == 0) streams_cv_.notify_all();
      });
}

// ---------------------------------------------------------------------------------------------
// GET and DELETE

void HttpTransport::handle_get(const Request& req, Response& res) {
  if (req.method == "HEAD") return refuse_method(req, res);  // httplib routes HEAD to GET handlers
  const auto headers = headers_of(req);
  if (auto refusal = front::check_get(headers, policy_)) return refuse(req, res, *refusal);
  const auto session_id = headers.session_id.value_or("");
  const auto resume_from = headers.last_event_id ? EventId::parse(*headers.last_event_id) : std::nullopt;
  for (int attempt = 0; attempt < kAdmissionAttempts; ++attempt) {
    auto target = look_up(session_id);
    auto decision = decide(Verb::get, Body::none, target.lookup, false, resume_from.has_value());
    if (decision.action == Action::refuse) return refuse(res, decision.refusal, std::nullopt, target.session.get());
    if (decision.action != Action::open_stream) break;
    if (auto refusal = front::check_protocol_version(headers, std::nullopt)) return refuse(req, res, *refusal);
    if (resume_from && target.session->events() && resume(res, target.session, *resume_from)) return;
    if (resume_from) {
      // An id this session does not know: a plain GET stream, admitted as one.
      log()->debug("session {}: Last-Event-ID '{}' names no stream we keep; opening a new stream", session_id,
                   *headers.last_event_id);
      decision = decide(Verb::get, Body::none, target.lookup);
      if (decision.action == Action::refuse) return refuse(res, decision.refusal, std::nullopt, target.session.get());
    }
    auto stream = std::make_shared<ReplyStream>(Format::sse, false, config_.max_queued_events, metrics_);
    make_resumable(*target.session, stream, EventLog::StreamKind::get);
    switch (target.session->attach_stream(stream)) {
      case Session::AttachResult::conflict:
        return refuse(res, errc::stream_conflict, std::nullopt);
      case Session::AttachResult::not_open:
        continue;
      case Session::AttachResult::attached: {
        begin_response(res, Format::sse);
        const ReplyStream* raw = stream.get();
        // A GET stream carries no request to cancel when its client leaves, so it checks less
        // often: with a thousand streams open, 50 ms checks cost more than the requests do.
        serve_stream(res, stream, config_.get_stream_check_interval, [session = target.session, stream, raw] {
          session->detach_stream(raw);
          stream->close();  // ended: a resume replays what is left of it, then ends
        });
        return;
      }
    }
  }
  refuse(res, errc::session_not_found, std::nullopt);
}

void HttpTransport::handle_delete(const Request& req, Response& res) {
  const auto headers = headers_of(req);
  if (auto refusal = front::check_caller(headers, policy_)) return refuse(req, res, *refusal);
  auto target = look_up(headers.session_id.value_or(""));
  const auto decision = decide(Verb::del, Body::none, target.lookup);
  if (decision.action != Action::end_session) return refuse(res, decision.refusal, std::nullopt, target.session.get());
  if (auto refusal = front::check_protocol_version(headers, std::nullopt)) return refuse(req, res, *refusal);
  // Answers at once: the drain runs on its own (design.md section 2).
  target.session->begin_drain(EndReason::remote_delete, config_.drain_timeout);
  res.status = 200;
}

// ---------------------------------------------------------------------------------------------
// Legacy HTTP+SSE (2024-11-05): GET --sse-path opens a session whose one stream carries every
// response and server message; the client POSTs its messages to --messages-path?sessionId=<id>
// and gets 202 at once. Closing the stream is the session's DELETE.

void HttpTransport::handle_sse_open(const Request& req, Response& res) {
  if (req.method == "HEAD") return refuse(res, errc::method_not_allowed, std::nullopt);
  const auto headers = headers_of(req);
  if (auto refusal = front::check_get(headers, policy_)) return refuse(req, res, *refusal);
  const auto decision = decide(Verb::sse_open, Body::none, Lookup::no_id);
  if (decision.action != Action::open_legacy) return refuse(res, decision.refusal, std::nullopt);
  auto session = registry_.create(std::string(mcp::kLegacySseVersion), json::object(), SessionTransport::legacy_sse);
  if (!session) {
    return refuse(res, registry_.admissions_closed() ? errc::server_draining : errc::too_many_sessions, std::nullopt);
  }
  auto stream = std::make_shared<ReplyStream>(Format::sse, false, config_.max_queued_events, metrics_);
  stream->carry_responses_until_closed();
  // The client leaving is its DELETE: the session drains, and admitted work keeps running for
  // the window; what it writes afterwards is dropped and counted.
  stream->on_gone([weak = std::weak_ptr<Session>(session), window = config_.drain_timeout](
                      const std::vector<std::string>&) {
    if (auto s = weak.lock()) s->begin_drain(EndReason::stream_closed, window);
  });
  // A relative URI, as SDK servers send it (spec-checklist.md section 3.2).
  stream->push_event("endpoint", config_.messages_path + "?sessionId=" + query_escape(session->id()));
  if (session->attach_stream(stream) != Session::AttachResult::attached) {
    // Only a shutdown that closed the session in between gets here.
    return refuse(res, errc::server_draining, std::nullopt);
  }
  log()->info("session {}: -> open (legacy HTTP+SSE stream; awaiting initialize)", session->id());
  begin_response(res, Format::sse);
  const ReplyStream* raw = stream.get();
  serve_stream(res, stream, config_.get_stream_check_interval, [session, raw] { session->detach_stream(raw); });
}

void HttpTransport::handle_messages(const Request& req, Response& res) {
  const auto headers = headers_of(req);
  const auto post = front::read_post(headers, req.body, policy_);
  if (post.refusal) return refuse(req, res, *post.refusal);
  const auto session_id = legacy_session_param(req);
  if (session_id.empty()) return refuse(res, errc::session_param_required, post.request_id);
  admit_post(req, headers, post, session_id, PostEndpoint::legacy, res);
}

bool HttpTransport::initialize_legacy(Session& session, const jsonrpc::Message& request) {
  const json& params = request.params;
  const auto stream = legacy_stream_of(session);
  const auto requested = params.is_object() ? params.find("protocolVersion") : params.end();
  if (requested == params.end() || !requested->is_string()) {
    // The session stays uninitialized: the client may send a corrected initialize.
    deliver_legacy(stream, session, error_response(errc::invalid_params, request.id, "\"protocolVersion\" must be a string"));
    return true;
  }
  const auto version = mcp::negotiate_version(params, mcp::kLegacySseVersion);
  const auto capabilities = params.find("capabilities");
  if (!session.initialize(version, capabilities != params.end() && capabilities->is_object() ? *capabilities
                                                                                                : json::object())) {
    return false;
  }
  const auto info = params.find("clientInfo");
  const json client_info = info == params.end() ? json() : *info;
  const std::string client = jsonrpc::string_member(client_info, "name").value_or("?") + " " +
                             jsonrpc::string_member(client_info, "version").value_or("?");
  log()->info("session {}: initialized (legacy HTTP+SSE; protocol {}, asked {}; {})", session.id(), version,
              requested->get<std::string>(), client);
  deliver_legacy(stream, session,
                 jsonrpc::make_result(*request.id, mcp::initialize_result(info_, version, dispatcher_.catalog())));
  return true;
}

bool HttpTransport::run_legacy_requests(const std::shared_ptr<Session>& session, const jsonrpc::Decoded& decoded) {
  const auto stream = legacy_stream_of(*session);
  const errc draining = config_.draining_status == 404 ? errc::session_terminated : errc::session_draining;
  for (const auto& item : decoded.items) {
    switch (item.kind) {
      case jsonrpc::Kind::notification: dispatcher_.handle_notification(*session, item); break;
      case jsonrpc::Kind::response:
      case jsonrpc::Kind::error_response: dispatcher_.handle_response(*session, item); break;
      case jsonrpc::Kind::invalid:
        deliver_legacy(stream, *session, error_response(item.problem, item.id, item.detail));
        break;
      case jsonrpc::Kind::request: {
        std::stop_source stop;
        auto begin = session->begin_request({*item.id, stop, stream});
        switch (begin.result) {
          case Session::BeginResult::admitted:
            // Expected only once admitted: a duplicate id must not take over the slot of the
            // request already in flight under that id.
            stream->expect(jsonrpc::key_of(*item.id));
            dispatcher_.handle_request(session, item, stream, std::move(begin.guard), stop.get_token());
            break;
          case Session::BeginResult::duplicate_id:
            deliver_legacy(stream, *session, error_response(errc::duplicate_request_id, item.id));
            break;
          case Session::BeginResult::not_open:
            if (!decoded.batch) return false;
            deliver_legacy(stream, *session, error_response(draining, item.id));
            break;
        }
        break;
      }
    }
  }
  return true;
}

void HttpTransport::deliver_legacy(const std::shared_ptr<ReplyStream>& stream, const Session& session,
                                   const json& message) {
  // Keys of their own, so they can never collide with a request's key_of(id).
  const auto key = "#legacy-" + std::to_string(++legacy_keys_);
  stream->expect(key);
  if (!stream->complete(key, message)) {
    log()->debug("session {}: message dropped: its legacy SSE stream is gone", session.id());
  }
}

std::shared_ptr<ReplyStream> HttpTransport::legacy_stream_of(const Session& session) {
  if (auto stream = session.attached_stream()) return stream;
  // The stream detached (its client left; the session drains): writes go nowhere, counted.
  auto gone = std::make_shared<ReplyStream>(Format::sse, false, 1, metrics_);
  gone->carry_responses_until_closed();
  gone->mark_gone();
  return gone;
}

}  // namespace graceway
