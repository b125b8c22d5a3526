// The MCP endpoint itself (McpEndpoint::handle, the code every HTTP engine calls): the headers
// (Content-Type, Accept, Host, Origin, MCP-Protocol-Version, Mcp-Session-Id, Last-Event-ID, and
// the 2026-07-28 routing headers Mcp-Method, Mcp-Name, Mcp-Param-*) and body of a POST, GET or
// DELETE to /mcp, against a real SessionRegistry holding an open, a draining and a closed session
// and with stateless (2026-07-28) requests served, under fuzzed settings (response mode, Origin and
// Host lists, JSON depth, process shutdown, capacity, --draining-status). The admission table is
// also checked on its own.
// Invariants: nothing throws and nothing is a 500; every error answer is a JSON-RPC error with a
// 4xx status or a documented 503 with Retry-After; only a well-formed initialize without a session
// creates one; a draining, closed or unknown session never runs a request; a stateless request
// never touches a session, is admitted only when it claims 2026-07-28 and the server is not
// shutting down, and (the catalog being empty) is answered before handle() returns.

#include <array>
#include <cstdint>

#include <spdlog/spdlog.h>

#include "fuzz_input.hpp"
#include "graceway/catalog.hpp"
#include "graceway/logging.hpp"
#include "graceway/server.hpp"
#include "mcp/modern_request.hpp"
#include "mcp/protocol.hpp"
#include "mcp/request_state.hpp"
#include "runtime/stateless_requests.hpp"
#include "runtime/tool_pool.hpp"
#include "security/authenticator.hpp"
#include "session/session_registry.hpp"
#include "transport/admission.hpp"
#include "transport/error_mapping.hpp"
#include "transport/http_headers.hpp"
#include "transport/mcp_endpoint.hpp"
#include "transport/request_front.hpp"
#include "transport/subscriptions.hpp"

namespace {

using namespace graceway;
using admission::Action;
using admission::Body;
using admission::Lookup;
using admission::Verb;

// Plausible values first, so the fuzzer reaches the deeper checks; then arbitrary bytes.
constexpr std::array kContentTypes = {"application/json", "application/json; charset=utf-8", "text/plain",
                                      "APPLICATION/JSON", "application/jsonx", ""};
constexpr std::array kAccepts = {"application/json, text/event-stream", "text/event-stream", "application/json",
                                 "*/*", "text/*;q=0, application/*", "image/png", ""};
constexpr std::array kOrigins = {"http://localhost:6274", "https://evil.example", "http://127.0.0.1",
                                 "http://[::1]:80", "null", "https://app.example"};
constexpr std::array kHosts = {"localhost:8080", "127.0.0.1:8080", "[::1]:8080", "localhost",
                               "evil.example.com", "mcp.example.com:8443", "[::1", "localhost:x", ""};
constexpr std::array kVersions = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", "2026-07-28", ""};
// The 2026-07-28 routing headers. They are read only when the body begins with kRoutingMarker (no
// JSON text begins with it), so every input written before they existed decodes as it did.
constexpr char kRoutingMarker = '\x01';
constexpr std::array kMcpMethods = {"server/discover", "tools/call", "tools/list", "subscriptions/listen",
                                    "resources/read", "initialize", " tools/call\t", ""};
constexpr std::array kMcpNames = {"echo", "=?base64?ZWNobw==?=", "=?base64?ZWNobw?=", "=?base64?!!?=",
                                  "=?base64?", "caf\xc3\xa9", ""};

std::optional<std::string_view> header(fuzz::FuzzInput& in, const auto& dictionary) {
  const unsigned pick = in.below(dictionary.size() + 2);
  if (pick == dictionary.size()) return std::nullopt;          // absent
  if (pick == dictionary.size() + 1) return in.text(64);       // arbitrary
  return std::string_view(dictionary[pick]);
}

bool is_documented_503(errc e) {
  return e == errc::session_draining || e == errc::server_draining || e == errc::too_many_sessions ||
         e == errc::server_overloaded;
}

void check_refusal(const front::Refusal& refusal) {
  const auto& mapping = mapping_of(refusal.code);
  FUZZ_CHECK(mapping.http_status >= 400 && mapping.http_status < 500);
  const auto body = jsonrpc::serialize(error_response(refusal.code, refusal.id, refusal.detail, refusal.data));
  const auto back = jsonrpc::decode(body);
  FUZZ_CHECK(!back.fatal && back.items.front().kind == jsonrpc::Kind::error_response);
}

void check_decision(const admission::Input& in, const admission::Decision& d) {
  if (d.action == Action::refuse) {
    const int status = mapping_of(d.refusal).http_status;
    FUZZ_CHECK((status >= 400 && status < 500) || (status == 503 && is_documented_503(d.refusal)));
    if (in.session == Lookup::unknown || in.session == Lookup::closed) FUZZ_CHECK(status == 404);
    return;
  }
  switch (d.action) {
    case Action::create_session:
      FUZZ_CHECK(in.verb == Verb::post && in.body == Body::initialize && in.session == Lookup::no_id);
      FUZZ_CHECK(!in.server_draining && !in.at_capacity);
      break;
    case Action::handle:
      FUZZ_CHECK(in.verb == Verb::post && in.body == Body::request && in.session == Lookup::open);
      break;
    case Action::accept:
      FUZZ_CHECK(in.body == Body::notification_or_response);
      FUZZ_CHECK(in.session == Lookup::open || in.session == Lookup::draining);
      break;
    case Action::open_stream:
      // A draining session serves only resumes (GET + Last-Event-ID).
      FUZZ_CHECK(in.verb == Verb::get &&
                 (in.session == Lookup::open || (in.session == Lookup::draining && in.resuming)));
      break;
    case Action::end_session:
      FUZZ_CHECK(in.verb == Verb::del && (in.session == Lookup::open || in.session == Lookup::draining));
      break;
    case Action::open_legacy:
      FUZZ_CHECK(in.verb == Verb::sse_open && !in.server_draining && !in.at_capacity);
      break;
    case Action::initialize_legacy:
      FUZZ_CHECK(in.verb == Verb::post && in.body == Body::initialize && in.session == Lookup::open &&
                 in.awaiting_initialize);
      break;
    case Action::serve_stateless:
      FUZZ_CHECK(in.era == mcp::Era::modern && in.verb == Verb::post && !in.server_draining);
      break;
    case Action::refuse: break;
  }
}

// With auth on, the one API key the world accepts (principal "key:fuzz"). The world's sessions
// were opened authless, so to this principal they are someone else's.
constexpr std::string_view kFuzzKey = "fuzz-key-0123456789abcdef";

// The requestState key of every World, so a seed can carry a state sealed ahead of time
// (fuzz/seeds.py seals with the same key and an expiry in year 9999).
constexpr std::string_view kFuzzStateKey = "graceway-fuzz-request-state-key!";

std::shared_ptr<const mcp::RequestStateSeal> fuzz_seal() {
  static const auto seal = std::make_shared<const mcp::RequestStateSeal>(std::string(kFuzzStateKey));
  return seal;
}

std::unique_ptr<security::Authenticator> make_auth(bool on, const Clock& clock, Metrics& metrics) {
  if (!on) return nullptr;
  AuthOptions options;
  std::vector<std::string> errors;
  options.api_keys = parse_api_keys(api_key_line("fuzz", kFuzzKey), errors);
  return std::make_unique<security::Authenticator>(options, clock, metrics);
}

SessionEnvironment environment(const Clock& clock, Metrics& metrics) {
  SessionEnvironment env;
  env.clock = &clock;
  env.metrics = &metrics;
  return env;
}

// One input's world: a registry holding one session in each state a lookup can report, and the
// endpoint over it, built with the input's settings.
struct World {
  World(ServerConfig settings, bool with_auth) : config(std::move(settings)), auth(make_auth(with_auth, clock, metrics)) {
    auto begin = draining->begin_request({jsonrpc::RequestId{std::int64_t{1}}, {}, nullptr, false});
    holds_draining = std::move(begin.guard);
    draining->begin_drain(EndReason::remote_delete, std::chrono::seconds(30));
    auto closed = registry.create("2025-06-18");
    closed_id = closed->id();
    closed->begin_drain(EndReason::remote_delete, std::chrono::seconds(30));  // nothing in flight: closes
    dispatcher.serve_stateless(info, fuzz_seal(), config.request_state_ttl, clock);
  }

  static ToolPool& pool() {
    static ToolPool tools(1);  // the catalog is empty: nothing is ever queued on it
    return tools;
  }

  const ServerConfig config;
  const ServerInfo info;
  const Catalog catalog;
  ManualClock clock;
  Metrics metrics;
  SequentialSessionIds ids{"fuzz-"};
  SessionRegistry registry{environment(clock, metrics), ids, 8, 8};
  mcp::Dispatcher dispatcher{catalog, pool(), metrics};
  std::unique_ptr<security::Authenticator> auth;  // API keys only: it never needs its fetch thread
  std::shared_ptr<StatelessRequests> stateless = std::make_shared<StatelessRequests>(config.max_stateless_requests, metrics);
  Subscriptions subscriptions{config.max_subscriptions, metrics};
  McpEndpoint endpoint{config,  info,    clock,       registry, dispatcher,         catalog,
                       metrics, auth.get(), RateLimitOptions{}, stateless.get(), &subscriptions};
  std::shared_ptr<Session> open = registry.create("2025-11-25");
  std::shared_ptr<Session> draining = registry.create("2025-03-26");
  InFlightGuard holds_draining;
  std::string closed_id;
};

// What every answer of the endpoint must look like.
void check_answer(const HttpAnswer& answer) {
  FUZZ_CHECK(answer.status != 500);
  if (answer.stream) FUZZ_CHECK(answer.status == 200);
  if (answer.status < 400) return;
  FUZZ_CHECK(answer.content_type == "application/json");
  const auto back = jsonrpc::decode(answer.body);
  FUZZ_CHECK(!back.fatal && !back.batch && back.items.front().kind == jsonrpc::Kind::error_response);
  if (answer.status == 503) {
    const auto* retry = answer.header("Retry-After");
    FUZZ_CHECK(retry != nullptr && !retry->empty() && retry->front() >= '1' && retry->front() <= '9');
  }
  if (answer.status == 405) FUZZ_CHECK(answer.header("Allow") != nullptr);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = [] {
    logging::configure({.level = spdlog::level::off, .format = logging::Format::text, .to_stderr = false});
    return true;
  }();
  (void)quiet;
  fuzz::FuzzInput in(data, size);
  const auto verb = static_cast<Verb>(in.below(3));
  front::Headers headers;
  headers.content_type = header(in, kContentTypes);
  headers.accept = header(in, kAccepts);
  headers.origin = header(in, kOrigins);
  headers.host = header(in, kHosts);
  headers.protocol_version = header(in, kVersions);
  headers.last_event_id = in.flag() ? std::optional(in.text(32)) : std::nullopt;
  // Known ids are "fuzz-1" (open), "fuzz-2" (draining) and "fuzz-3" (closed), as World makes them.
  static const std::array<std::string, 3> known = {"fuzz-1", "fuzz-2", "fuzz-3"};
  switch (in.below(5)) {
    case 0: break;  // absent
    case 1: headers.session_id = in.text(40); break;
    default: headers.session_id = known[in.below(3)]; break;
  }
  ServerConfig config;
  config.response_mode = in.flag() ? ResponseMode::json : ResponseMode::sse;
  const bool loopback = in.flag();
  config.host = loopback ? "127.0.0.1" : "0.0.0.0";
  if (in.flag()) config.allowed_origins = {in.flag() ? "*" : "https://app.example"};
  if (in.flag()) config.allowed_hosts = {in.flag() ? "*" : "mcp.example.com:8443"};
  // With these settings a refused Host is possible only where Host is checked at all.
  const bool any_host = config.allowed_hosts.empty() ? !loopback : config.allowed_hosts.front() == "*";
  config.max_json_depth = 4 + in.below(61);
  const bool server_draining = in.flag();
  const bool at_capacity = in.flag();
  config.draining_status = in.flag() ? 404 : 503;
  // One session is open (draining and closed ones do not count): at capacity exactly then.
  config.max_sessions = at_capacity ? 1 : 1000;
  // Credentials: the pipeline's authentication step, when auth is on.
  const bool with_auth = in.flag();
  const std::string valid_bearer = "Bearer " + std::string(kFuzzKey);
  static const std::array<std::string_view, 4> kAuthorizations = {"", "Bearer wrong-key-0123456789", "Basic Zm9vOmJhcg==",
                                                                 "Bearer"};
  std::string authorization_text;
  switch (in.below(4)) {
    case 0: break;
    case 1: authorization_text = valid_bearer; break;
    case 2: authorization_text = std::string(kAuthorizations[in.below(4)]); break;
    default: authorization_text = std::string(in.text(64)); break;
  }
  if (!authorization_text.empty()) headers.authorization = authorization_text;
  headers.authorization_repeated = headers.authorization && in.below(8) == 7;
  std::string api_key_text;
  if (in.below(4) == 3) api_key_text = in.flag() ? std::string(kFuzzKey) : std::string(in.text(40));
  if (!api_key_text.empty()) headers.api_key = api_key_text;
  // Only these shapes can authenticate; anything else must be refused before any session work.
  const bool may_authenticate = !headers.authorization_repeated &&
                                ((authorization_text == valid_bearer && api_key_text.empty()) ||
                                 (authorization_text.empty() && api_key_text == kFuzzKey));
  auto body = in.rest();
  if (!body.empty() && body.front() == kRoutingMarker) {
    fuzz::FuzzInput routing(reinterpret_cast<const std::uint8_t*>(body.data()) + 1, body.size() - 1);
    headers.mcp_method = header(routing, kMcpMethods);
    headers.mcp_name = header(routing, kMcpNames);
    headers.routing_header_repeated = routing.below(8) == 7;
    for (unsigned n = routing.below(4); n > 0; --n) {
      const auto name = routing.text(32);
      headers.mcp_params.emplace_back(name, routing.text(64));
    }
    body = routing.rest();
  }
  // Served statelessly, if at all: one message claiming 2026-07-28 in params._meta, or a
  // notification under a 2026-07-28 MCP-Protocol-Version. The session invariants are not about it.
  bool stateless_route = false;
  if (verb == Verb::post) {
    const auto decoded = jsonrpc::decode(body);
    if (!decoded.fatal && !decoded.batch && !decoded.items.empty()) {
      const auto& item = decoded.items.front();
      const bool modern_header = headers.protocol_version && http::trim(*headers.protocol_version) == "2026-07-28";
      stateless_route = mcp::modern::claims_modern(item) || (modern_header && item.kind == jsonrpc::Kind::notification);
    }
  }

  World world(config, with_auth);
  FUZZ_CHECK(world.open->id() == known[0] && world.draining->id() == known[1] && world.closed_id == known[2]);
  if (server_draining) {
    // As Server::begin_shutdown does it.
    world.endpoint.begin_shutdown(world.clock.now() + std::chrono::seconds(20));
    world.stateless->begin_shutdown();
    world.subscriptions.end_all();
  }
  const auto created_before = world.metrics.sessions_created.load();
  const auto requests_before = world.metrics.requests.load();
  const auto stateless_before = world.metrics.stateless_requests.load();

  static constexpr std::array<std::string_view, 3> kMethods = {"POST", "GET", "DELETE"};
  const HttpRequest request{.method = kMethods[static_cast<std::size_t>(verb)],
                            .path = "/mcp",
                            .query = {},
                            .headers = headers,
                            .body = verb == Verb::post ? body : std::string_view{},
                            .remote = "fuzz",
                            .peer = "127.0.0.1",
                            .wake = {}};
  auto answer = world.endpoint.handle(request);
  check_answer(answer);

  if (answer.status == 403) {
    const auto message = nlohmann::json::parse(answer.body)["error"]["message"].get<std::string>();
    if (message == mapping_of(errc::forbidden_host).message) FUZZ_CHECK(!any_host);
    if (message == mapping_of(errc::forbidden_origin).message) FUZZ_CHECK(headers.origin.has_value());
  }
  // Only a well-formed initialize without a session id creates a session, and never while the
  // server drains or is full.
  if (world.metrics.sessions_created.load() != created_before) {
    FUZZ_CHECK(verb == Verb::post && !headers.session_id && !server_draining && !at_capacity);
    FUZZ_CHECK(answer.status == 200 && answer.header("Mcp-Session-Id") != nullptr);
  }
  // (The verb comes before access, docs/security.md: a GET or DELETE under a 2026-07-28
  // MCP-Protocol-Version is 405 Allow: POST, credentials or not.)
  const bool modern_verb_refusal = verb != Verb::post && headers.protocol_version &&
                                   http::trim(*headers.protocol_version) == "2026-07-28";
  if (with_auth && !may_authenticate) {
    FUZZ_CHECK(answer.status == 400 || answer.status == 401 || answer.status == 403 ||
               (answer.status == 405 && modern_verb_refusal));
    FUZZ_CHECK(world.metrics.sessions_created.load() == created_before);
  }
  // Every 401 carries the challenge.
  if (answer.status == 401) FUZZ_CHECK(with_auth && answer.header("WWW-Authenticate") != nullptr);
  // The world's sessions belong to nobody: an authenticated principal never reaches them.
  if (with_auth && headers.session_id == known[0] && !stateless_route) FUZZ_CHECK(answer.status >= 400);
  // Only an open session runs requests.
  if (world.metrics.requests.load() != requests_before) FUZZ_CHECK(headers.session_id == known[0] && !stateless_route);
  if (headers.session_id == known[2] && !stateless_route) FUZZ_CHECK(answer.status >= 400);  // closed: never served
  // A stateless request belongs to no session: it never opens one, and it is admitted only when
  // it claims the era and the server is not shutting down.
  if (stateless_route) FUZZ_CHECK(world.metrics.sessions_created.load() == created_before);
  if (world.metrics.stateless_requests.load() != stateless_before) FUZZ_CHECK(stateless_route && !server_draining);

  if (answer.stream) {
    answer.stream->mark_gone();  // the client leaves at once
    if (answer.on_stream_end) answer.on_stream_end();
  }
  // Nothing in the catalog runs on the pool: every stateless request was answered inline.
  FUZZ_CHECK(world.stateless->in_flight() == 0);
  FUZZ_CHECK(world.metrics.subscriptions_open.load() == 0);

  // The admission table on its own, with the same snapshot.
  if (verb != Verb::post || !body.empty()) {
    admission::Input table;
    table.verb = verb;
    table.session = front::look_up(world.registry, headers.session_id.value_or("")).lookup;
    table.server_draining = server_draining;
    table.at_capacity = at_capacity;
    table.draining_answers_404 = config.draining_status == 404;
    table.resuming = headers.last_event_id.has_value();
    if (verb == Verb::post) {
      const auto post = front::read_post(headers, body, front::Policy::from(config));
      if (post.refusal) {
        check_refusal(*post.refusal);
        return 0;
      }
      table.body = post.body;
    }
    check_decision(table, admission::decide(table));
  }
  return 0;
}
