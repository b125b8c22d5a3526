// The endpoint's two eras (docs/spec-rules.md, "Protocol eras"): which era a request belongs to,
// and the path of a stateless (2026-07-28) request from its checks to the dispatcher.

#include <spdlog/spdlog.h>

#include "graceway/logging.hpp"
#include "mcp/era.hpp"
#include "mcp/message_handler.hpp"
#include "mcp/modern_request.hpp"
#include "runtime/stateless_requests.hpp"
#include "session/session_registry.hpp"
#include "transport/error_mapping.hpp"
#include "transport/http_headers.hpp"
#include "transport/mcp_endpoint.hpp"
#include "transport/subscriptions.hpp"

namespace graceway {
namespace {

using nlohmann::json;
namespace modern = mcp::modern;

std::shared_ptr<spdlog::logger> log() {
  static const auto logger = logging::get("graceway.http");
  return logger;
}

// What the request's MCP-Protocol-Version header names, with optional whitespace removed.
std::optional<std::string_view> version_header(const front::Headers& headers) {
  if (!headers.protocol_version) return std::nullopt;
  return http::trim(*headers.protocol_version);
}

bool names_modern_version(const front::Headers& headers) {
  const auto v = version_header(headers);
  return v && mcp::is_modern_version(*v);
}

// The methods of 2026-07-28 graceway serves, given what the catalog offers: a method behind a
// capability we do not declare does not exist here (-32601, as the schema says).
bool serves_method(const Catalog& catalog, std::string_view method) {
  if (method == "server/discover" || method == "tools/list" || method == "tools/call" ||
      method == "subscriptions/listen") {
    return true;
  }
  if (method == "prompts/list" || method == "prompts/get") return !catalog.prompts.empty();
  if (method == "resources/list" || method == "resources/templates/list" || method == "resources/read") {
    return !catalog.resources.empty();
  }
  if (method == "completion/complete") return catalog.has_completions();
  return false;
}

const json* member(const json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

}  // namespace

bool McpEndpoint::serves_modern() const {
  return config_.serve_modern && stateless_ != nullptr && subscriptions_ != nullptr && handler_.serves_stateless();
}

bool McpEndpoint::refuses_session_verbs(const HttpRequest& req) const {
  return !config_.serve_legacy || names_modern_version(req.headers);
}

McpEndpoint::EraDecision McpEndpoint::route_era(const HttpRequest& req, const front::Post& post,
                                                std::string_view owner) const {
  const auto& decoded = post.decoded;
  EraDecision decision;
  if (decoded.batch) {
    // Batches are a 2025-03-26 thing; a modern request cannot ride in one.
    for (const auto& item : decoded.items) {
      if (modern::claims_modern(item)) {
        return {EraRoute::refuse, errc::invalid_request, "a 2026-07-28 request cannot be part of a batch", nullptr, false};
      }
    }
    return decision;
  }
  const auto& item = decoded.items.front();
  const bool header_modern = names_modern_version(req.headers);
  if (modern::claims_modern(item)) {
    if (serves_modern()) return {EraRoute::modern, {}, {}, nullptr, false};
    // The versions we do serve, so the client falls back to initialize.
    const json* meta = member(item.params, "_meta");
    const json* claimed = meta != nullptr ? member(*meta, modern::kMetaProtocolVersion) : nullptr;
    return {EraRoute::refuse, errc::unsupported_modern_version, "this server serves the legacy era only",
            {{"supported", mcp::version_list(mcp::kSupportedVersions)},
             {"requested", claimed != nullptr && claimed->is_string() ? *claimed : json()}},
            false};
  }
  const bool request = item.kind == jsonrpc::Kind::request;
  if (request && item.method == "initialize") {
    if (header_modern) {
      return {EraRoute::refuse, errc::header_mismatch,
              "initialize is the legacy handshake; MCP-Protocol-Version must not name 2026-07-28 on it", nullptr, false};
    }
    if (!config_.serve_legacy) {
      const auto* asked = member(item.params, "protocolVersion");
      return {EraRoute::refuse, errc::unsupported_modern_version,
              "this server serves the stateless 2026-07-28 era only: send params._meta on each request",
              {{"supported", mcp::version_list(mcp::kModernVersions)},
               {"requested", asked != nullptr && asked->is_string() ? *asked : json()}},
              false};
    }
    return decision;
  }
  if (!header_modern) return decision;
  // A modern header over a claim-less body. A live legacy session's request under it is what
  // Claude's connector has been seen sending (docs/claude-connector.md); the spec says refuse.
  if (config_.lenient_version_header && req.headers.session_id) {
    const auto found = front::look_up(registry_, *req.headers.session_id, owner);
    if (found.session) {
      ++metrics_.version_headers_tolerated;
      log()->info("session {}: {} with MCP-Protocol-Version {} served as the session's own version "
                  "(--lenient-version-header)",
                  *req.headers.session_id, item.method.empty() ? "a message" : item.method, *version_header(req.headers));
      decision.tolerated = true;
      return decision;
    }
  }
  if (request) {
    return {EraRoute::refuse, errc::modern_header_without_meta,
            "add params._meta[\"io.modelcontextprotocol/protocolVersion\"] and clientCapabilities, or send a legacy version",
            nullptr, false};
  }
  // A claim-less notification under a modern header belongs to no session: accepted and ignored.
  return serves_modern() ? EraDecision{EraRoute::modern, {}, {}, nullptr, false} : decision;
}

HttpAnswer McpEndpoint::handle_modern(const HttpRequest& req, const Caller& caller, const front::Post& post) {
  const auto& item = post.decoded.items.front();
  if (item.kind == jsonrpc::Kind::notification) {
    // The core protocol has no client notifications over HTTP in this era; notifications/cancelled
    // is ignored on purpose: without a session, one caller could cancel another's request.
    log()->debug("stateless {} notification accepted and ignored", item.method);
    HttpAnswer answer;
    answer.status = 202;
    return answer;
  }
  if (item.kind != jsonrpc::Kind::request) {
    return refuse(errc::invalid_request, std::nullopt, nullptr, "a 2026-07-28 client does not POST responses");
  }
  const auto& headers = req.headers;
  const modern::RoutingHeaders routing{.protocol_version = headers.protocol_version,
                                       .method = headers.mcp_method,
                                       .name = headers.mcp_name,
                                       .repeated = headers.routing_header_repeated,
                                       .params = headers.mcp_params};
  auto front = modern::check_front(item, routing, mcp::kModernVersions, config_.lenient_version_header,
                                   mcp::kSupportedVersions);
  if (front.problem) {
    log()->debug("stateless {} ({}) refused: {}", item.method, jsonrpc::key_of(*item.id), front.problem->detail);
    return refuse(front.problem->code, item.id, nullptr, front.problem->detail, front.problem->data);
  }
  if (front.tolerated_legacy_header) {
    ++metrics_.version_headers_tolerated;
    log()->info("stateless {} from {}: MCP-Protocol-Version {} under a 2026-07-28 body served as 2026-07-28 "
                "(--lenient-version-header)",
                item.method, caller.display, *version_header(headers));
  }
  if (!serves_method(catalog_, item.method)) return refuse(errc::modern_method_not_found, item.id, nullptr, item.method);
  const auto admitted = admission::decide({.verb = admission::Verb::post,
                                           .body = admission::Body::request,
                                           .server_draining = shutting_down_.load(),
                                           .era = mcp::Era::modern});
  if (admitted.action != admission::Action::serve_stateless) return refuse(admitted.refusal, item.id);
  if (item.method == "tools/call") {
    const auto* name = member(item.params, "name");
    const auto* tool = name != nullptr && name->is_string() ? catalog_.tools.find(name->get<std::string>()) : nullptr;
    if (tool != nullptr) {
      // The capability gate: a tool that cannot work without it is refused before it runs.
      json missing = json::object();
      for (const auto& capability : tool->definition.required_client_capabilities) {
        if (!front.envelope.client_capabilities.contains(capability)) missing[capability] = json::object();
      }
      if (!missing.empty()) {
        return refuse(errc::missing_client_capability, item.id, nullptr,
                      "tool '" + tool->definition.name + "' needs " + missing.begin().key(),
                      {{"requiredCapabilities", missing}});
      }
      const auto* arguments = member(item.params, "arguments");
      if (auto problem = modern::check_param_headers(tool->definition.input_schema,
                                                     arguments != nullptr ? *arguments : json::object(), routing)) {
        return refuse(problem->code, item.id, nullptr, problem->detail, problem->data);
      }
    }
  }
  if (auto refused = charge(caller, item.id)) return std::move(*refused);
  if (item.method == "subscriptions/listen") return listen(req, item);

  auto call = std::make_shared<mcp::StatelessCall>(mcp::StatelessCall{
      .version = front.envelope.version,
      .client_capabilities = std::move(front.envelope.client_capabilities),
      .log_level = front.envelope.log_level,
      .owner = caller.owner,
      .label = "stateless " + item.method + " (" + jsonrpc::key_of(*item.id) + ") from " + caller.display});
  // Both media types accepted: the stream decides when it knows (an early error keeps its status).
  const auto accept = http::parse_accept(headers.accept.value_or(""));
  const auto format = accept.json && accept.sse && config_.response_mode == ResponseMode::sse ? Format::lazy : post.format;
  auto stream = std::make_shared<ReplyStream>(format, false, config_.max_queued_events, metrics_);
  stream->set_status_picker(modern_status_of);
  std::stop_source stop;
  const auto key = jsonrpc::key_of(*item.id);
  auto admission = stateless_->begin(stop, stream, *item.id);
  switch (admission.result) {
    case StatelessRequests::Result::admitted: break;
    case StatelessRequests::Result::shutting_down: refund(caller); return refuse(errc::server_draining, item.id);
    case StatelessRequests::Result::at_capacity: refund(caller); return refuse(errc::server_overloaded, item.id);
  }
  stream->expect(key);
  // Closing the response stream cancels the request: stop it at once, write nothing more.
  stream->on_gone([stop, &metrics = metrics_, label = call->label](const std::vector<std::string>& unanswered) mutable {
    if (unanswered.empty()) return;
    ++metrics.stateless_cancelled;
    stop.request_stop();
    log()->debug("{}: the client closed the stream; cancelled", label);
  });
  handler_.handle_stateless(call, item, stream, std::move(admission.guard), stop.get_token());
  return respond(stream);
}

HttpAnswer McpEndpoint::listen(const HttpRequest& req, const jsonrpc::Message& request) {
  if (!http::parse_accept(req.headers.accept.value_or("")).sse) {
    return refuse(errc::not_acceptable, request.id, nullptr, "subscriptions/listen answers with text/event-stream");
  }
  const json* wanted = member(request.params, "notifications");
  auto asked = [wanted](std::string_view key) {
    const json* flag = wanted != nullptr ? member(*wanted, key) : nullptr;
    return flag != nullptr && flag->is_boolean() && flag->get<bool>();
  };
  // What we honour, named back in the acknowledgement; what we do not offer is left out.
  Subscriptions::Filter filter;
  json honoured = json::object();
  filter.tools = asked("toolsListChanged");
  if (filter.tools) honoured["toolsListChanged"] = true;
  if (!catalog_.prompts.empty() && asked("promptsListChanged")) {
    filter.prompts = true;
    honoured["promptsListChanged"] = true;
  }
  if (!catalog_.resources.empty()) {
    if (asked("resourcesListChanged")) {
      filter.resources = true;
      honoured["resourcesListChanged"] = true;
    }
    const json* uris = wanted != nullptr ? member(*wanted, "resourceSubscriptions") : nullptr;
    if (uris != nullptr && uris->is_array()) {
      json kept = json::array();
      for (const auto& uri : *uris) {
        if (uri.is_string() && filter.resource_uris.size() < config_.max_queued_events) {
          filter.resource_uris.insert(uri.get<std::string>());
          kept.push_back(uri);
        }
      }
      if (!kept.empty()) honoured["resourceSubscriptions"] = std::move(kept);
    }
  }
  auto stream = std::make_shared<ReplyStream>(Format::sse, false, config_.max_queued_events, metrics_);
  std::uint64_t number = 0;
  switch (subscriptions_->open(*request.id, std::move(filter), honoured, stream, number)) {
    case Subscriptions::Open::opened: break;
    case Subscriptions::Open::full:
      log()->warn("subscriptions/listen refused: --max-subscriptions ({}) streams are open", config_.max_subscriptions);
      return refuse(errc::server_overloaded, request.id);
    case Subscriptions::Open::closed: return refuse(errc::server_draining, request.id);
  }
  log()->debug("subscriptions/listen {} opened: {}", jsonrpc::key_of(*request.id), honoured.dump());
  return sse_answer(stream, [subscriptions = subscriptions_, number] { subscriptions->close(number); });
}

}  // namespace graceway
