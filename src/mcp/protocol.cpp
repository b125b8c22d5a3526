#include "mcp/protocol.hpp"

#include <algorithm>
#include <cmath>

#include <spdlog/spdlog.h>

#include "graceway/logging.hpp"
#include "runtime/tool_pool.hpp"
#include "transport/error_mapping.hpp"

namespace graceway::mcp {
namespace {

using nlohmann::json;

std::shared_ptr<spdlog::logger> log() {
  static const auto logger = logging::get("graceway.tool");
  return logger;
}

// Whole numbers go out as JSON integers ("50", not "50.0").
json number(double value) {
  if (std::floor(value) == value && std::fabs(value) < 9.0e15) return static_cast<std::int64_t>(value);
  return value;
}

// The ToolContext a handler sees. Lives on the tool worker for the duration of one call.
class ToolCallContext final : public ToolContext {
public:
  ToolCallContext(const json& arguments, std::shared_ptr<Session> session, std::stop_token stop,
                  std::optional<json> progress_token, std::shared_ptr<Outbox> reply,
                  std::chrono::milliseconds default_timeout)
      : arguments_(arguments), session_(std::move(session)), stop_(std::move(stop)),
        progress_token_(std::move(progress_token)), reply_(std::move(reply)), default_timeout_(default_timeout),
        capabilities_(session_->client_capabilities()) {}

  [[nodiscard]] const json& arguments() const override { return arguments_; }
  [[nodiscard]] const std::string& session_id() const override { return session_->id(); }
  [[nodiscard]] std::stop_token stop_token() const override { return stop_; }
  [[nodiscard]] bool has_progress_token() const override { return progress_token_.has_value(); }
  [[nodiscard]] const json& client_capabilities() const override { return capabilities_; }

  bool report_progress(double progress, std::optional<double> total, std::string_view message) override {
    if (!progress_token_) return false;
    // The spec requires progress to increase with every notification.
    if (last_progress_ && progress <= *last_progress_) return false;
    last_progress_ = progress;
    json params = {{"progressToken", *progress_token_}, {"progress", number(progress)}};
    if (total) params["total"] = number(*total);
    if (!message.empty()) params["message"] = std::string(message);
    return reply_->push(jsonrpc::make_notification("notifications/progress", std::move(params)));
  }

  bool log(LogLevel level, const json& data, std::string_view logger) override {
    if (!session_->log_passes(level)) return false;
    json params = {{"level", std::string(to_string(level))}, {"data", data}};
    if (!logger.empty()) params["logger"] = std::string(logger);
    return reply_->push(jsonrpc::make_notification("notifications/message", std::move(params)));
  }

  ClientReply ask_client(std::string_view method, json params, std::chrono::milliseconds timeout) override {
    const auto needed = capability_for(method);
    if (!needed.empty() && !capabilities_.contains(needed)) {
      return {ClientReply::Status::unsupported, nullptr,
              "the client did not declare the '" + std::string(needed) + "' capability"};
    }
    // Lifecycle 2.3: no requests but ping before the client has sent notifications/initialized.
    if (method != "ping" && !session_->initialized()) {
      return {ClientReply::Status::unsupported, nullptr, "the client has not sent notifications/initialized yet"};
    }
    auto& requests = session_->client_requests();
    const auto id = requests.open();
    json message = {{"jsonrpc", "2.0"}, {"id", id}, {"method", std::string(method)}};
    if (!params.is_null()) message["params"] = std::move(params);
    if (!reply_->push(message)) {
      requests.abandon(id);
      return {ClientReply::Status::unsupported, nullptr,
              !reply_->streams() ? "JSON response mode cannot carry requests to the client"
                                                             : "the client is gone"};
    }
    mcp::log()->debug("session {}: sent {} (id {}) to the client", session_->id(), method, id);
    const auto wait = timeout > std::chrono::milliseconds::zero() ? timeout : default_timeout_;
    ClientRequests::Answer answer;
    switch (requests.wait(id, std::chrono::steady_clock::now() + wait, stop_, answer)) {
      case ClientRequests::Outcome::answered:
        return {answer.is_error ? ClientReply::Status::error : ClientReply::Status::result, std::move(answer.value), {}};
      case ClientRequests::Outcome::timed_out:
        cancel(id, "timed out");
        mcp::log()->debug("session {}: {} (id {}) got no answer within {} ms", session_->id(), method, id, wait.count());
        return {ClientReply::Status::timeout, nullptr,
                "no answer from the client within " + std::to_string(wait.count()) + " ms"};
      case ClientRequests::Outcome::stopped:
        break;
    }
    cancel(id, "the request that sent it was cancelled");
    return {ClientReply::Status::cancelled, nullptr, "cancelled while waiting for the client"};
  }

  bool close_stream() override {
    // Before 2025-11-25 the server SHOULD NOT end a stream before its response, and the client
    // has no priming event id or retry: to come back with.
    return sends_priming_event(session_->protocol_version()) && reply_->cut();
  }

private:
  // The client capability a server-to-client request needs; empty when none.
  static std::string_view capability_for(std::string_view method) {
    if (method == "sampling/createMessage") return "sampling";
    if (method == "elicitation/create") return "elicitation";
    if (method == "roots/list") return "roots";
    return {};
  }

  // Tells the client we no longer wait for request `id` (best effort: the stream may be gone).
  void cancel(std::int64_t id, std::string_view reason) {
    reply_->push(jsonrpc::make_notification("notifications/cancelled",
                                            {{"requestId", id}, {"reason", std::string(reason)}}));
  }

  const json& arguments_;
  std::shared_ptr<Session> session_;
  std::stop_token stop_;
  std::optional<json> progress_token_;
  std::optional<double> last_progress_;
  std::shared_ptr<Outbox> reply_;
  const std::chrono::milliseconds default_timeout_;
  const json capabilities_;  // the session's, copied once: a reference handed out must stay valid
};

// params.name etc.: the member when it is a string.
const std::string* string_param(const json& params, std::string_view key) {
  if (!params.is_object()) return nullptr;
  const auto it = params.find(key);
  return it != params.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
}

// Pagination: we never hand out a cursor, so any cursor a client sends is not one of ours.
bool has_cursor(const json& params) { return params.is_object() && params.contains("cursor"); }

constexpr std::size_t kMaxCompletionValues = 100;  // the spec's cap per response

}  // namespace

bool is_supported_version(std::string_view version) {
  return std::find(kSupportedVersions.begin(), kSupportedVersions.end(), version) != kSupportedVersions.end();
}

std::string negotiate_version(const json& params, std::string_view fallback) {
  if (params.is_object()) {
    const auto it = params.find("protocolVersion");
    if (it != params.end() && it->is_string() && is_supported_version(it->get_ref<const std::string&>())) {
      return it->get<std::string>();
    }
  }
  return std::string(fallback);
}

bool allows_batches(std::string_view version) { return version == "2025-03-26"; }

// Versions are dates, so they order as strings.
bool sends_priming_event(std::string_view version) { return version >= "2025-11-25"; }

std::optional<json> progress_token(const json& params) {
  if (!params.is_object()) return std::nullopt;
  const auto meta = params.find("_meta");
  if (meta == params.end() || !meta->is_object()) return std::nullopt;
  const auto token = meta->find("progressToken");
  if (token == meta->end() || !(token->is_string() || token->is_number_integer())) return std::nullopt;
  return *token;
}

json initialize_result(const ServerInfo& info, std::string_view version, const Catalog& catalog) {
  json capabilities = {{"tools", {{"listChanged", false}}}, {"logging", json::object()}};
  if (!catalog.resources.empty()) capabilities["resources"] = {{"subscribe", true}, {"listChanged", false}};
  if (!catalog.prompts.empty()) capabilities["prompts"] = {{"listChanged", false}};
  if (catalog.has_completions()) {
    capabilities["completions"] = json::object();
  }
  json result = {
      {"protocolVersion", std::string(version)},
      {"capabilities", std::move(capabilities)},
      {"serverInfo", {{"name", info.name}, {"version", info.version}}},
  };
  if (!info.instructions.empty()) result["instructions"] = info.instructions;
  return result;
}

Dispatcher::Dispatcher(const Catalog& catalog, ToolPool& pool, Metrics& metrics,
                       std::chrono::milliseconds client_request_timeout)
    : catalog_(catalog), pool_(pool), metrics_(metrics), client_request_timeout_(client_request_timeout) {}

void Dispatcher::handle_request(const std::shared_ptr<Session>& session, const jsonrpc::Message& request,
                                const std::shared_ptr<Outbox>& reply, InFlightGuard guard,
                                std::stop_token stop) {
  const auto& method = request.method;
  if (method == "tools/call") {
    call_tool(session, request, reply, std::move(guard), std::move(stop));
    return;
  }
  // User code (readers, prompt builders, completers) runs on the pool: it may block.
  if (method == "resources/read" && !catalog_.resources.empty()) {
    run(session, request, reply, std::move(guard), std::move(stop),
        [this, request](const std::stop_token&) { return read_resource(request); }, false, method);
    return;
  }
  if (method == "prompts/get" && !catalog_.prompts.empty()) {
    run(session, request, reply, std::move(guard), std::move(stop),
        [this, request](const std::stop_token&) { return get_prompt(request); }, false, method);
    return;
  }
  if (method == "completion/complete" && catalog_.has_completions()) {
    run(session, request, reply, std::move(guard), std::move(stop),
        [this, request](const std::stop_token&) { return complete(request); }, false, method);
    return;
  }
  reply->complete(jsonrpc::key_of(*request.id), answer(*session, request));
  guard.release();
}

json Dispatcher::answer(Session& session, const jsonrpc::Message& request) const {
  const auto& method = request.method;
  const auto& id = *request.id;
  const json& params = request.params;
  if (method == "ping") return jsonrpc::make_result(id, json::object());
  if (method == "initialize") return error_response(errc::already_initialized, request.id);
  if (method == "logging/setLevel") {
    const auto* name = string_param(params, "level");
    const auto level = name != nullptr ? parse_log_level(*name) : std::nullopt;
    if (!level) {
      return error_response(errc::invalid_params, request.id,
                            "\"level\" must be one of debug, info, notice, warning, error, critical, alert, emergency");
    }
    session.set_log_level(*level);
    log()->debug("session {}: client log level set to {}", session.id(), *name);
    return jsonrpc::make_result(id, json::object());
  }
  const bool listing = method == "tools/list" || method == "resources/list" || method == "resources/templates/list" ||
                       method == "prompts/list";
  if (listing && has_cursor(params)) return error_response(errc::invalid_params, request.id, "unknown cursor");
  if (method == "tools/list") return jsonrpc::make_result(id, json{{"tools", catalog_.tools.list()}});
  if (!catalog_.resources.empty()) {
    if (method == "resources/list") return jsonrpc::make_result(id, json{{"resources", catalog_.resources.list()}});
    if (method == "resources/templates/list") {
      return jsonrpc::make_result(id, json{{"resourceTemplates", catalog_.resources.list_templates()}});
    }
    if (method == "resources/subscribe" || method == "resources/unsubscribe") {
      const auto* uri = string_param(params, "uri");
      if (uri == nullptr) return error_response(errc::invalid_params, request.id, "\"uri\" must be a string");
      if (method == "resources/subscribe") {
        session.subscribe(*uri);
      } else {
        session.unsubscribe(*uri);
      }
      return jsonrpc::make_result(id, json::object());
    }
  }
  if (method == "prompts/list" && !catalog_.prompts.empty()) {
    return jsonrpc::make_result(id, json{{"prompts", catalog_.prompts.list()}});
  }
  return error_response(errc::method_not_found, request.id, method);
}

void Dispatcher::call_tool(const std::shared_ptr<Session>& session, const jsonrpc::Message& request,
                           const std::shared_ptr<Outbox>& reply, InFlightGuard guard, std::stop_token stop) {
  const auto key = jsonrpc::key_of(*request.id);
  const json& params = request.params;
  const auto* name = string_param(params, "name");
  if (name == nullptr) {
    reply->complete(key, error_response(errc::invalid_params, request.id, "\"name\" must be a string"));
    return;
  }
  const auto* tool = catalog_.tools.find(*name);
  if (tool == nullptr) {
    reply->complete(key, error_response(errc::invalid_params, request.id, "unknown tool '" + *name + "'"));
    return;
  }
  json arguments = json::object();
  if (const auto args = params.find("arguments"); args != params.end() && !args->is_null()) {
    if (!args->is_object()) {
      reply->complete(key, error_response(errc::invalid_params, request.id, "\"arguments\" must be an object"));
      return;
    }
    arguments = *args;
  }
  ++metrics_.tool_calls;
  auto job = [this, tool, session, reply, id = *request.id, arguments = std::move(arguments),
              token = progress_token(params)](const std::stop_token& cancel) {
    ToolCallContext context(arguments, session, cancel, token, reply, client_request_timeout_);
    ToolResult result;
    try {
      result = tool->handler(context);
    } catch (const std::exception& e) {
      log()->warn("tool {} threw: {}", tool->definition.name, e.what());
      result = ToolResult::error("tool failed: " + std::string(e.what()));
    } catch (...) {
      log()->warn("tool {} threw a non-standard exception", tool->definition.name);
      result = ToolResult::error("tool failed");
    }
    return jsonrpc::make_result(id, result.to_json());
  };
  run(session, request, reply, std::move(guard), std::move(stop), std::move(job),
      tool->execution == ToolExecution::inline_nonblocking, tool->definition.name);
}

void Dispatcher::run(const std::shared_ptr<Session>& session, const jsonrpc::Message& request,
                     const std::shared_ptr<Outbox>& reply, InFlightGuard guard, std::stop_token stop, Job job,
                     bool run_inline, std::string what) {
  // std::function needs a copyable job; the guard itself is move-only.
  auto held = std::make_shared<InFlightGuard>(std::move(guard));
  auto task = [reply, key = jsonrpc::key_of(*request.id), id = *request.id, method = std::move(what),
               session_id = session->id(), held = std::move(held), stop = std::move(stop),
               job = std::move(job)]() mutable {
    if (stop.stop_requested()) {
      // Cancelled (client, deadline or cancellation) while waiting for a worker: nobody can
      // receive the result, so the handler does not run at all. Released before the log line,
      // so whoever reads the line finds the request no longer in flight.
      held->release();
      log()->debug("session {}: {} ({}) cancelled before it started", session_id, method, key);
      return;
    }
    json response;
    try {
      response = job(stop);
    } catch (const std::exception& e) {
      log()->warn("session {}: {} ({}) failed: {}", session_id, method, key, e.what());
      response = error_response(errc::internal_error, id, e.what());
    } catch (...) {
      log()->warn("session {}: {} ({}) failed with a non-standard exception", session_id, method, key);
      response = error_response(errc::internal_error, id);
    }
    if (!reply->complete(key, response)) {
      log()->debug("session {}: result of {} ({}) dropped: already answered or client gone", session_id, method, key);
    }
    held->release();
  };
  if (run_inline) {
    task();
  } else {
    pool_.submit(std::move(task));
  }
}

json Dispatcher::read_resource(const jsonrpc::Message& request) const {
  const auto* uri = string_param(request.params, "uri");
  if (uri == nullptr) return error_response(errc::invalid_params, request.id, "\"uri\" must be a string");
  const auto match = catalog_.resources.find(*uri);
  std::vector<ResourceContent> contents;
  if (match) contents = (*match->reader)(*uri, match->variables);
  if (contents.empty()) return error_response(errc::resource_not_found, request.id, *uri, json{{"uri", *uri}});
  json list = json::array();
  for (const auto& c : contents) list.push_back(c.to_json());
  return jsonrpc::make_result(*request.id, json{{"contents", std::move(list)}});
}

json Dispatcher::get_prompt(const jsonrpc::Message& request) const {
  const json& params = request.params;
  const auto* name = string_param(params, "name");
  if (name == nullptr) return error_response(errc::invalid_params, request.id, "\"name\" must be a string");
  const auto* prompt = catalog_.prompts.find(*name);
  if (prompt == nullptr) return error_response(errc::invalid_params, request.id, "unknown prompt '" + *name + "'");
  PromptArguments arguments;
  if (const auto args = params.find("arguments"); args != params.end() && !args->is_null()) {
    if (!args->is_object()) return error_response(errc::invalid_params, request.id, "\"arguments\" must be an object");
    for (const auto& [key, value] : args->items()) {
      if (!value.is_string()) {
        return error_response(errc::invalid_params, request.id, "argument '" + key + "' must be a string");
      }
      arguments.emplace(key, value.get<std::string>());
    }
  }
  for (const auto& a : prompt->definition.arguments) {
    if (a.required && !arguments.contains(a.name)) {
      return error_response(errc::invalid_params, request.id, "missing required argument '" + a.name + "'");
    }
  }
  return jsonrpc::make_result(*request.id, prompt->handler(arguments).to_json());
}

json Dispatcher::complete(const jsonrpc::Message& request) const {
  const json& params = request.params;
  const auto ref = params.is_object() ? params.find("ref") : params.end();
  const auto argument = params.is_object() ? params.find("argument") : params.end();
  if (ref == params.end() || !ref->is_object() || argument == params.end() || !argument->is_object()) {
    return error_response(errc::invalid_params, request.id, "\"ref\" and \"argument\" must be objects");
  }
  const auto* type = string_param(*ref, "type");
  const auto* arg_name = string_param(*argument, "name");
  const auto* arg_value = string_param(*argument, "value");
  if (type == nullptr || arg_name == nullptr || arg_value == nullptr) {
    return error_response(errc::invalid_params, request.id,
                          "\"ref.type\", \"argument.name\" and \"argument.value\" must be strings");
  }
  Completer completer;
  if (*type == "ref/prompt") {
    const auto* name = string_param(*ref, "name");
    const auto* prompt = name != nullptr ? catalog_.prompts.find(*name) : nullptr;
    if (prompt == nullptr) return error_response(errc::invalid_params, request.id, "unknown prompt");
    completer = prompt->completer;
  } else if (*type == "ref/resource") {
    const auto* uri = string_param(*ref, "uri");
    auto found = uri != nullptr ? catalog_.resources.completer(*uri) : std::nullopt;
    if (!found) return error_response(errc::invalid_params, request.id, "unknown resource template");
    completer = std::move(*found);
  } else {
    return error_response(errc::invalid_params, request.id, "\"ref.type\" must be ref/prompt or ref/resource");
  }
  CompletionContext context;
  if (const auto ctx = params.find("context"); ctx != params.end() && ctx->is_object()) {
    if (const auto args = ctx->find("arguments"); args != ctx->end() && args->is_object()) {
      for (const auto& [key, value] : args->items()) {
        if (value.is_string()) context.emplace(key, value.get<std::string>());
      }
    }
  }
  std::vector<std::string> values;
  if (completer) values = completer(*arg_name, *arg_value, context);
  const auto total = values.size();
  if (values.size() > kMaxCompletionValues) values.resize(kMaxCompletionValues);
  return jsonrpc::make_result(
      *request.id,
      json{{"completion", {{"values", values}, {"total", total}, {"hasMore", total > kMaxCompletionValues}}}});
}

void Dispatcher::handle_notification(Session& session, const jsonrpc::Message& notification) {
  const auto& method = notification.method;
  if (method == "notifications/cancelled") {
    const json& params = notification.params;
    const auto request_id = params.is_object() ? params.find("requestId") : params.end();
    const auto id = request_id == params.end() ? std::nullopt : jsonrpc::id_from_json(*request_id);
    if (!id) {
      // The spec: invalid cancellations SHOULD be ignored. Logged for whoever wonders why a call ran on.
      log()->debug("session {}: notifications/cancelled without a valid requestId ignored", session.id());
    } else if (!session.cancel_request(jsonrpc::key_of(*id))) {
      log()->debug("session {}: cancel for unknown or finished request ignored", session.id());
    }
    return;
  }
  if (method == "notifications/initialized") session.mark_initialized();
  // notifications/progress, roots/list_changed, ...: nothing to do beyond the activity they prove.
  session.touch();
}

void Dispatcher::handle_response(Session& session, const jsonrpc::Message& response) {
  session.touch();
  ClientRequests::Answer answer{response.kind == jsonrpc::Kind::error_response,
                                response.kind == jsonrpc::Kind::error_response ? response.error : response.result};
  if (!response.id || !session.client_requests().fulfil(*response.id, std::move(answer))) {
    log()->debug("session {}: a response from the client answers nothing we wait for (late or unknown id)",
                 session.id());
  }
}

}  // namespace graceway::mcp
