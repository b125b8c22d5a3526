#include "mcp/protocol.hpp"

#include <algorithm>
#include <cmath>

#include <spdlog/spdlog.h>

#include "graceway/logging.hpp"
#include "runtime/tool_pool.hpp"
#include "transport/error_mapping.hpp"
#include "transport/reply_stream.hpp"

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
  ToolCallContext(const json& arguments, const std::string& session_id, std::stop_token stop,
                  std::optional<json> progress_token, std::shared_ptr<ReplyStream> reply)
      : arguments_(arguments), session_id_(session_id), stop_(std::move(stop)),
        progress_token_(std::move(progress_token)), reply_(std::move(reply)) {}

  [[nodiscard]] const json& arguments() const override { return arguments_; }
  [[nodiscard]] const std::string& session_id() const override { return session_id_; }
  [[nodiscard]] std::stop_token stop_token() const override { return stop_; }
  [[nodiscard]] bool has_progress_token() const override { return progress_token_.has_value(); }

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

private:
  const json& arguments_;
  const std::string& session_id_;
  std::stop_token stop_;
  std::optional<json> progress_token_;
  std::optional<double> last_progress_;
  std::shared_ptr<ReplyStream> reply_;
};

}  // namespace

bool is_supported_version(std::string_view version) {
  return std::find(kSupportedVersions.begin(), kSupportedVersions.end(), version) != kSupportedVersions.end();
}

std::string negotiate_version(const json& params) {
  if (params.is_object()) {
    const auto it = params.find("protocolVersion");
    if (it != params.end() && it->is_string() && is_supported_version(it->get_ref<const std::string&>())) {
      return it->get<std::string>();
    }
  }
  return std::string(kLatestVersion);
}

bool allows_batches(std::string_view version) { return version == "2025-03-26"; }

std::optional<json> progress_token(const json& params) {
  if (!params.is_object()) return std::nullopt;
  const auto meta = params.find("_meta");
  if (meta == params.end() || !meta->is_object()) return std::nullopt;
  const auto token = meta->find("progressToken");
  if (token == meta->end() || !(token->is_string() || token->is_number_integer())) return std::nullopt;
  return *token;
}

json initialize_result(const ServerInfo& info, std::string_view version) {
  json result = {
      {"protocolVersion", std::string(version)},
      {"capabilities", {{"tools", {{"listChanged", false}}}}},
      {"serverInfo", {{"name", info.name}, {"version", info.version}}},
  };
  if (!info.instructions.empty()) result["instructions"] = info.instructions;
  return result;
}

Dispatcher::Dispatcher(const ToolRegistry& tools, ToolPool& pool, Metrics& metrics)
    : tools_(tools), pool_(pool), metrics_(metrics) {}

void Dispatcher::handle_request(const std::shared_ptr<Session>& session, const jsonrpc::Message& request,
                                const std::shared_ptr<ReplyStream>& reply, InFlightGuard guard,
                                std::stop_token stop) {
  const auto key = jsonrpc::key_of(*request.id);
  const auto& method = request.method;
  if (method == "tools/call") {
    call_tool(session, request, reply, std::move(guard), std::move(stop));
    return;
  }
  json response;
  if (method == "ping") {
    response = jsonrpc::make_result(*request.id, json::object());
  } else if (method == "tools/list") {
    response = jsonrpc::make_result(*request.id, json{{"tools", tools_.list()}});
  } else if (method == "initialize") {
    response = error_response(errc::already_initialized, request.id);
  } else {
    response = error_response(errc::method_not_found, request.id, method);
  }
  reply->complete(key, response);
  guard.release();
}

void Dispatcher::call_tool(const std::shared_ptr<Session>& session, const jsonrpc::Message& request,
                           const std::shared_ptr<ReplyStream>& reply, InFlightGuard guard, std::stop_token stop) {
  const auto key = jsonrpc::key_of(*request.id);
  const json& params = request.params;
  const auto name = params.is_object() ? params.find("name") : params.end();
  if (name == params.end() || !name->is_string()) {
    reply->complete(key, error_response(errc::invalid_params, request.id, "\"name\" must be a string"));
    return;
  }
  const auto* tool = tools_.find(name->get_ref<const std::string&>());
  if (tool == nullptr) {
    reply->complete(key, error_response(errc::invalid_params, request.id,
                                        "unknown tool '" + name->get<std::string>() + "'"));
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
  // std::function needs a copyable job; the guard itself is move-only.
  auto held = std::make_shared<InFlightGuard>(std::move(guard));
  auto job = [tool, reply, key, id = *request.id, session_id = session->id(), arguments = std::move(arguments),
              token = progress_token(params), held = std::move(held), stop = std::move(stop)]() mutable {
    if (stop.stop_requested()) {
      // Cancelled (client, deadline or cancellation) while waiting for a tool thread: nobody
      // can receive the result, so the handler does not run at all.
      log()->debug("session {}: {} ({}) cancelled before it started", session_id, tool->definition.name, key);
      held->release();
      return;
    }
    ToolCallContext context(arguments, session_id, stop, token, reply);
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
    if (!reply->complete(key, jsonrpc::make_result(id, result.to_json()))) {
      log()->debug("session {}: result of {} ({}) dropped: already answered or client gone", session_id,
                   tool->definition.name, key);
    }
    held->release();
  };
  if (tool->execution == ToolExecution::inline_nonblocking) {
    job();
  } else {
    pool_.submit(std::move(job));
  }
}

void Dispatcher::handle_notification(Session& session, const jsonrpc::Message& notification) {
  const auto& method = notification.method;
  if (method == "notifications/cancelled") {
    const json& params = notification.params;
    const auto request_id = params.is_object() ? params.find("requestId") : params.end();
    if (request_id == params.end()) return;
    if (const auto id = jsonrpc::id_from_json(*request_id)) {
      if (!session.cancel_request(jsonrpc::key_of(*id))) {
        log()->debug("session {}: cancel for unknown or finished request ignored", session.id());
      }
    }
    return;
  }
  // notifications/initialized, notifications/progress, roots/list_changed, ...: nothing to do
  // beyond the activity they prove.
  session.touch();
}

void Dispatcher::handle_response(Session& session, const jsonrpc::Message& /*response*/) {
  // graceway sends no server-to-client requests yet, so a response answers nothing.
  log()->debug("session {}: ignoring a response from the client", session.id());
  session.touch();
}

}  // namespace graceway::mcp
