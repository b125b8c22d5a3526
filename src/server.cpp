#include "graceway/server.hpp"

#include <algorithm>
#include <array>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <mutex>

#include <spdlog/spdlog.h>

#include "graceway/duration.hpp"
#include "gateway/stdio_gateway.hpp"
#include "gateway/upstream_gateway.hpp"
#include "graceway/logging.hpp"
#include "mcp/protocol.hpp"
#include "mcp/request_state.hpp"
#include "runtime/runtime.hpp"
#include "runtime/stateless_requests.hpp"
#include "security/authenticator.hpp"
#include "runtime/tool_pool.hpp"
#include "session/session_registry.hpp"
#include "transport/http_server.hpp"
#include "transport/mcp_endpoint.hpp"
#include "transport/subscriptions.hpp"

namespace graceway {
namespace {

std::shared_ptr<spdlog::logger> log() {
  static const auto logger = logging::get("graceway.server");
  return logger;
}

// How often the reaper looks for idle sessions: a quarter of the timeout, within [10ms, 1s].
std::chrono::milliseconds sweep_interval(std::chrono::milliseconds idle_timeout) {
  return std::clamp(idle_timeout / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
}

std::vector<std::string> gateway_problems_of(const Server::Options& options) {
  if (options.stdio && options.upstream) return {"--stdio and --upstream cannot be used together"};
  if (options.stdio) return validate(*options.stdio);
  if (options.upstream) return validate(*options.upstream);
  return {};
}

std::unique_ptr<security::Authenticator> make_authenticator(const Server::Options& options, const Clock& clock,
                                                           Metrics& metrics) {
  if (!options.auth.enabled() || !validate(options.auth).empty()) return nullptr;
  return std::make_unique<security::Authenticator>(options.auth, clock, metrics);
}

std::unique_ptr<gateway::Gateway> make_gateway(Server::Options& options, Metrics& metrics) {
  if (options.stdio) return std::make_unique<gateway::StdioGateway>(std::move(*options.stdio), metrics);
  if (options.upstream) return std::make_unique<gateway::UpstreamGateway>(std::move(*options.upstream), metrics);
  return nullptr;
}

// The key that seals requestState: the operator's file, or one made now. Problems go to `problems`.
std::shared_ptr<const mcp::RequestStateSeal> make_seal(const ServerConfig& config, std::vector<std::string>& problems) {
  if (config.request_state_key_file.empty()) {
    return std::make_shared<const mcp::RequestStateSeal>(mcp::RequestStateSeal::generate_key());
  }
  std::string why;
  auto key = mcp::RequestStateSeal::load_key(config.request_state_key_file, why);
  if (!key) {
    problems.push_back("--request-state-key-file: " + why);
    return nullptr;
  }
  return std::make_shared<const mcp::RequestStateSeal>(std::move(*key));
}

std::vector<std::string> era_problems_of(const ServerConfig& config, const Server::Options& options) {
  std::vector<std::string> problems;
  if ((options.stdio || options.upstream) && !config.serve_legacy) {
    problems.emplace_back("--eras: gateway mode serves the legacy era only (its MCP server speaks it)");
  }
  return problems;
}

}  // namespace

// Members are declared in dependency order, so they are destroyed in the safe order:
// HTTP threads first, then tool workers, then the runtime thread, then sessions.
struct Server::Impl {
  Impl(ServerConfig cfg, Catalog offered, Options options)
      : config(std::move(cfg)), info(std::move(options.info)), catalog(std::move(offered)),
        clock(options.clock != nullptr ? *options.clock : SteadyClock::instance()),
        ids(options.session_ids ? std::move(options.session_ids) : std::make_shared<RandomSessionIds>()),
        registry(SessionEnvironment{.clock = &clock,
                                    .metrics = &metrics,
                                    .schedule = [this](Clock::time_point when,
                                                       std::function<void()> fn) { runtime.schedule_at(when, std::move(fn)); },
                                    .forget = {},
                                    .retry_after_override = config.retry_after,
                                    .event_log_size = config.event_log_size,
                                    .event_log_bytes = config.event_log_bytes,
                                    .observe = [this](const std::string& id, SessionState from, SessionState to) {
                                      handler().session_changed(id, from, to);
                                      {
                                        std::lock_guard lock(state_mu);
                                        ++transitions;
                                      }
                                      state_cv.notify_all();
                                    }},
                 *ids, config.max_sessions, config.session_tombstones),
        pool(config.tool_threads), dispatcher(catalog, pool, metrics, config.client_request_timeout),
        era_problems(era_problems_of(config, options)), seal(make_seal(config, era_problems)),
        stateless(std::make_shared<StatelessRequests>(config.max_stateless_requests, metrics)),
        subscriptions(config.max_subscriptions, metrics),
        gateway_problems(gateway_problems_of(options)), gateway(make_gateway(options, metrics)),
        access_problems(validate(options.auth)), auth(make_authenticator(options, clock, metrics)),
        rate_limit(std::move(options.rate_limit)), http_options(std::move(options.http)),
        endpoint(config, info, clock, registry, handler(), catalog, metrics, auth.get(), rate_limit, stateless.get(),
                 &subscriptions),
        transport(http_options, config, endpoint, metrics) {
    if (config.serve_modern && seal) dispatcher.serve_stateless(info, seal, config.request_state_ttl, clock);
  }

  ~Impl() {
    catalog.changes->set_listener({});  // handlers may outlive the server holding the feed
    if (!finished) {
      stateless->stop_all();
      // Not drained through wait(): end everything now. Closing each session at its deadline
      // cancels every tool, so the joins below do not wait for long-running work.
      for (const auto& session : registry.close_admissions()) {
        session->begin_drain(EndReason::shutdown, std::chrono::milliseconds(0));
        session->on_deadline();
      }
    }
    // Before the I/O threads end: children were forked there, and PR_SET_PDEATHSIG kills a child
    // when its forking thread exits. Kills and reaps what is left.
    if (gateway) gateway->stop(std::chrono::steady_clock::now());
    transport.stop();
    if (auth) auth->stop();
    pool.stop();
    runtime.stop();
  }

  // What answers the sessions' messages: the gateway's children, or the catalog in this process.
  mcp::MessageHandler& handler() { return gateway ? static_cast<mcp::MessageHandler&>(*gateway) : dispatcher; }

  const ServerConfig config;
  const ServerInfo info;
  const Catalog catalog;
  const Clock& clock;
  std::shared_ptr<SessionIdGenerator> ids;
  Metrics metrics;
  SessionRegistry registry;
  Runtime runtime;
  ToolPool pool;
  mcp::Dispatcher dispatcher;
  std::vector<std::string> era_problems;  // the era options' problems, reported by start()
  std::shared_ptr<const mcp::RequestStateSeal> seal;  // null only when its key file is bad
  std::shared_ptr<StatelessRequests> stateless;  // stateless requests in flight; outlives the endpoint
  Subscriptions subscriptions;                    // open subscriptions/listen streams
  const std::vector<std::string> gateway_problems;  // the gateway options' problems, reported by start()
  std::unique_ptr<gateway::Gateway> gateway;  // gateway mode only; outlives the endpoint
  std::vector<std::string> access_problems;  // the auth and rate-limit options' problems, reported by start()
  std::unique_ptr<security::Authenticator> auth;  // null: authless; outlives the endpoint
  const RateLimitOptions rate_limit;
  const HttpOptions http_options;
  McpEndpoint endpoint;
  HttpServer transport;

  std::mutex state_mu;                  // guards transitions
  std::condition_variable state_cv;     // notified after every session state change
  std::uint64_t transitions = 0;

  std::mutex mu;                        // guards the fields below
  std::condition_variable shutdown_cv;  // wait() sleeps here until shutdown()
  bool started = false;
  bool shutdown_requested = false;
  bool finished = false;
  bool signalled = false;               // runtime thread only, after watch_signals()
  std::chrono::steady_clock::time_point shutdown_deadline{};  // set by shutdown(), before wait() reads it
};

Server::Server(ServerConfig config, Catalog catalog, Options options)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(catalog), std::move(options))) {}

Server::Server(ServerConfig config, ToolRegistry tools, Options options)
    : Server(std::move(config), Catalog{std::move(tools), {}, {}}, std::move(options)) {}

Server::Server(ServerConfig config, ToolRegistry tools) : Server(std::move(config), std::move(tools), Options{}) {}

Server::~Server() = default;

std::error_code Server::start() {
  auto& s = *impl_;
  {
    std::lock_guard lock(s.mu);
    if (s.started) return {};
    s.started = true;
  }
  auto problems = validate(s.config);
  for (auto& p : validate(s.http_options)) problems.push_back(std::move(p));
  problems.insert(problems.end(), s.gateway_problems.begin(), s.gateway_problems.end());
  problems.insert(problems.end(), s.access_problems.begin(), s.access_problems.end());
  problems.insert(problems.end(), s.era_problems.begin(), s.era_problems.end());
  for (auto& p : validate(s.rate_limit)) problems.push_back(std::move(p));
  if (!problems.empty()) {
    for (const auto& p : problems) log()->error("invalid configuration: {}", p);
    return std::make_error_code(std::errc::invalid_argument);
  }
  if (auto ec = s.transport.bind()) return ec;
  if (s.gateway) s.gateway->start();
  if (s.auth) s.auth->start();
  // A changed list reaches legacy sessions' GET streams and the listen streams that asked.
  s.catalog.changes->set_listener([&s](ChangeFeed::List which) {
    const auto message = jsonrpc::make_notification(ChangeFeed::notification_method(which), nlohmann::json::object());
    for (const auto& session : s.registry.snapshot()) session->notify(message);
    s.subscriptions.list_changed(which);
  });
  s.runtime.start();
  if (s.config.session_idle_timeout.count() > 0) {
    s.runtime.every(sweep_interval(s.config.session_idle_timeout), [&s] {
      for (const auto& session : s.registry.snapshot()) session->expire_if_idle(s.config.session_idle_timeout);
    });
  }
  s.transport.start();
  return {};
}

std::uint16_t Server::port() const { return impl_->transport.port(); }

bool Server::ready() const { return !impl_->endpoint.shutting_down(); }

const Metrics& Server::metrics() const { return impl_->metrics; }

std::optional<SessionState> Server::session_state(std::string_view id) const {
  const auto found = impl_->registry.find(id);
  switch (found.lookup) {
    case SessionRegistry::Lookup::live: return found.session->state();
    case SessionRegistry::Lookup::closed: return SessionState::closed;
    case SessionRegistry::Lookup::unknown: return std::nullopt;
  }
  return std::nullopt;
}

bool Server::wait_session_state(std::string_view id, SessionState state, std::chrono::milliseconds timeout) const {
  auto& s = *impl_;
  // States only move forward, so "reached" means at or past `state`; a forgotten id has closed.
  auto reached = [&] {
    const auto now = session_state(id);
    return static_cast<int>(now.value_or(SessionState::closed)) >= static_cast<int>(state);
  };
  std::unique_lock lock(s.state_mu);
  return s.state_cv.wait_for(lock, timeout, reached);
}

bool Server::notify(std::string_view session_id, const nlohmann::json& message) {
  const auto found = impl_->registry.find(session_id);
  return found.session && found.session->notify(message);
}

std::size_t Server::broadcast(const nlohmann::json& message) {
  std::size_t delivered = 0;
  for (const auto& session : impl_->registry.snapshot()) delivered += session->notify(message) ? 1 : 0;
  return delivered;
}

std::size_t Server::resource_updated(std::string_view uri) {
  const std::string key(uri);
  const auto message = jsonrpc::make_notification("notifications/resources/updated", {{"uri", key}});
  std::size_t delivered = 0;
  for (const auto& session : impl_->registry.snapshot()) {
    if (session->subscribed(key) && session->notify(message)) ++delivered;
  }
  return delivered + impl_->subscriptions.resource_updated(uri);
}

void Server::shutdown() {
  auto& s = *impl_;
  {
    std::lock_guard lock(s.mu);
    if (s.shutdown_requested) return;
    s.shutdown_requested = true;
  }
  const auto deadline = s.clock.now() + s.config.shutdown_timeout;
  {
    std::lock_guard lock(s.mu);
    s.shutdown_deadline = std::chrono::steady_clock::now() + s.config.shutdown_timeout;
  }
  s.endpoint.begin_shutdown(deadline);
  // Stateless requests in flight keep the window; new ones are refused. Listen streams carry no
  // work: they get their final result now.
  s.stateless->begin_shutdown();
  s.subscriptions.end_all();
  s.transport.begin_shutdown();
  const auto sessions = s.registry.close_admissions();
  const auto window = std::min(s.config.drain_timeout, s.config.shutdown_timeout);
  log()->info("shutdown: readiness off, new sessions refused, {} session(s) to drain within {}, {} stateless "
              "request(s) to finish within {}",
              sessions.size(), format_duration(window), s.stateless->in_flight(), format_duration(s.config.shutdown_timeout));
  for (const auto& session : sessions) session->begin_drain(EndReason::shutdown, window);
  s.shutdown_cv.notify_all();
}

int Server::wait() {
  auto& s = *impl_;
  {
    std::unique_lock lock(s.mu);
    s.shutdown_cv.wait(lock, [&] { return s.shutdown_requested; });
    if (s.finished) return 0;
  }
  using std::chrono::steady_clock;
  // Each session's window ends by the shutdown deadline and its own timer closes it then; the
  // extra second only covers the timer thread's latency.
  const auto give_up = steady_clock::now() + s.config.shutdown_timeout + std::chrono::seconds(1);
  if (!s.registry.wait_empty(give_up)) {
    log()->warn("shutdown: {} session(s) still live after the deadline", s.registry.live());
  }
  steady_clock::time_point stateless_deadline;
  {
    std::lock_guard lock(s.mu);
    stateless_deadline = s.shutdown_deadline;
  }
  if (!s.stateless->wait_empty(stateless_deadline)) {
    const auto stopped = s.stateless->stop_all();
    log()->warn("shutdown: {} stateless request(s) still running at the deadline; stopped, their answers dropped",
                stopped);
  }
  // Final responses are being written now; give slow clients the write timeout to take them.
  if (!s.transport.wait_streams_closed(steady_clock::now() + s.http_options.write_timeout)) {
    log()->warn("shutdown: closing response streams that did not finish in time");
  }
  if (s.gateway) {
    // Every session has closed, so the gateway is letting go of what served them (children
    // stopped, upstream sessions deleted); what is left after its budget is ended by stop().
    s.gateway->stop(steady_clock::now() + s.gateway->stop_budget());
  }
  s.transport.stop();
  if (s.auth) s.auth->stop();  // after the engine: no request is left to wake
  if (!s.pool.wait_idle(steady_clock::now() + std::chrono::seconds(1))) {
    log()->warn("shutdown: tool handlers are still running after cancellation; waiting for them "
                "(a second signal exits at once)");
  }
  s.pool.stop();
  s.runtime.stop();
  {
    std::lock_guard lock(s.mu);
    s.finished = true;
  }
  log()->info("shutdown complete: {} session(s) served, {} dropped write(s)", s.metrics.sessions_created.load(),
              s.metrics.dropped_writes.load());
  return 0;
}

int Server::run() {
  auto& s = *impl_;
  // Handlers are installed before the listener accepts anything, so a signal that arrives as
  // soon as "listening on" is logged still drains instead of killing the process. Signals that
  // arrive before the runtime thread runs are delivered once it does.
  s.runtime.watch_signals([this, &s](int signo) {
    if (!s.signalled) {
      s.signalled = true;
      log()->info("received {}: draining (send it again to exit at once)", signo == SIGINT ? "SIGINT" : "SIGTERM");
      shutdown();
      return;
    }
    log()->warn("second signal: exiting now without draining");
    spdlog::shutdown();
    std::_Exit(128 + signo);
  });
  if (auto ec = start()) {
    // invalid_argument: a bad setting or TLS file, already logged naming its flag.
    if (ec != std::errc::invalid_argument) {
      log()->error("cannot listen on {}:{}: {}", s.config.host, s.config.port, ec.message());
    }
    return 1;
  }
  return wait();
}

}  // namespace graceway
