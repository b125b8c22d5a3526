// The HTTP request front: the headers (Content-Type, Accept, Host, Origin, MCP-Protocol-Version,
// Mcp-Session-Id, Last-Event-ID) and body of a POST, GET or DELETE to /mcp, driven through
// front::read_post / check_get / check_caller, the session lookup in a real SessionRegistry,
// the admission table and check_protocol_version, exactly as HttpTransport does.
// Invariants: nothing throws; every refusal maps to a 4xx (or a documented 503 with Retry-After
// semantics) and serialises to a JSON-RPC error; only a well-formed initialize without a session
// creates one; only an open session runs requests; a draining session never does.

#include <array>
#include <cstdint>

#include <spdlog/spdlog.h>

#include "fuzz_input.hpp"
#include "graceway/logging.hpp"
#include "session/session_registry.hpp"
#include "transport/admission.hpp"
#include "transport/error_mapping.hpp"
#include "transport/request_front.hpp"

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
    case Action::refuse: break;
  }
}

SessionEnvironment environment(const Clock& clock, Metrics& metrics) {
  SessionEnvironment env;
  env.clock = &clock;
  env.metrics = &metrics;
  return env;
}

// A registry holding one session in each state the lookup can report, as the server's would.
struct Sessions {
  ManualClock clock;
  Metrics metrics;
  SequentialSessionIds ids{"fuzz-"};
  SessionRegistry registry{environment(clock, metrics), ids, 8, 8};
  std::shared_ptr<Session> open = registry.create("2025-11-25");
  std::shared_ptr<Session> draining = registry.create("2025-03-26");
  InFlightGuard holds_draining;
  std::string closed_id;

  Sessions() {
    auto begin = draining->begin_request({jsonrpc::RequestId{std::int64_t{1}}, {}, nullptr, false});
    holds_draining = std::move(begin.guard);
    draining->begin_drain(EndReason::remote_delete, std::chrono::seconds(30));
    auto closed = registry.create("2025-06-18");
    closed_id = closed->id();
    closed->begin_drain(EndReason::remote_delete, std::chrono::seconds(30));  // nothing in flight: closes
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = [] {
    logging::configure({.level = spdlog::level::off, .format = logging::Format::text, .to_stderr = false});
    return true;
  }();
  (void)quiet;
  static Sessions sessions;  // read-only after construction: lookups do not change it
  fuzz::FuzzInput in(data, size);
  const auto verb = static_cast<Verb>(in.below(3));
  front::Headers headers;
  headers.content_type = header(in, kContentTypes);
  headers.accept = header(in, kAccepts);
  headers.origin = header(in, kOrigins);
  headers.host = header(in, kHosts);
  headers.protocol_version = header(in, kVersions);
  headers.last_event_id = in.flag() ? std::optional(in.text(32)) : std::nullopt;
  const std::array<std::string_view, 3> known = {sessions.open->id(), sessions.draining->id(), sessions.closed_id};
  switch (in.below(5)) {
    case 0: break;  // absent
    case 1: headers.session_id = in.text(40); break;
    default: headers.session_id = known[in.below(3)]; break;
  }
  front::Policy policy;
  policy.response_mode = in.flag() ? ResponseMode::json : ResponseMode::sse;
  policy.loopback_bound = in.flag();
  if (in.flag()) policy.allowed_origins = {in.flag() ? "*" : "https://app.example"};
  if (in.flag()) policy.allowed_hosts = {in.flag() ? "*" : "mcp.example.com:8443"};
  policy.bound_host = policy.loopback_bound ? "127.0.0.1" : "0.0.0.0";
  // With these settings a refused Host is possible only where Host is checked at all.
  const bool any_host = policy.allowed_hosts.empty() ? !policy.loopback_bound : policy.allowed_hosts.front() == "*";
  policy.max_json_depth = 1 + in.below(64);
  admission::Input table;
  table.verb = verb;
  const auto target = front::look_up(sessions.registry, headers.session_id.value_or(""));
  table.session = target.lookup;
  FUZZ_CHECK((target.session != nullptr) == (target.lookup == Lookup::open || target.lookup == Lookup::draining));
  if (headers.session_id == known[0]) FUZZ_CHECK(target.lookup == Lookup::open);
  if (headers.session_id == known[1]) FUZZ_CHECK(target.lookup == Lookup::draining);
  if (headers.session_id == known[2]) FUZZ_CHECK(target.lookup == Lookup::closed);
  table.server_draining = in.flag();
  table.at_capacity = in.flag();
  table.draining_answers_404 = in.flag();
  table.resuming = headers.last_event_id.has_value();
  const auto body = in.rest();

  if (verb == Verb::post) {
    const auto post = front::read_post(headers, body, policy);
    if (post.refusal) {
      check_refusal(*post.refusal);
      if (post.refusal->code == errc::forbidden_origin) FUZZ_CHECK(headers.origin.has_value());
      if (post.refusal->code == errc::forbidden_host) FUZZ_CHECK(!any_host);
      return 0;
    }
    FUZZ_CHECK(!post.decoded.fatal && !post.decoded.items.empty());
    if (post.body == Body::initialize) {
      FUZZ_CHECK(!post.decoded.batch && post.decoded.items.front().method == "initialize");
    }
    FUZZ_CHECK(!post.request_id || !post.decoded.batch);
    table.body = post.body;
  } else {
    const auto refusal = verb == Verb::get ? front::check_get(headers, policy) : front::check_caller(headers, policy);
    if (refusal) {
      check_refusal(*refusal);
      if (refusal->code == errc::forbidden_host) FUZZ_CHECK(!any_host);
      return 0;
    }
  }
  const auto decision = admission::decide(table);
  check_decision(table, decision);
  if (decision.action != Action::refuse && decision.action != Action::create_session) {
    if (auto refusal = front::check_protocol_version(headers, std::nullopt)) {
      FUZZ_CHECK(refusal->code == errc::unsupported_protocol_version);
      check_refusal(*refusal);
    }
  }
  return 0;
}
