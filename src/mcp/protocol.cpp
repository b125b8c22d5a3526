#include "mcp/protocol.hpp"

#include <algorithm>
#include <cmath>

#include <spdlog/spdlog.h>

#include "graceway/logging.hpp"
#include "mcp/modern_request.hpp"
#include "mcp/request_state.hpp"
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

// The ToolContext a handler sees: of a legacy session's request (`session` set) or of a
// stateless request (`call` set). Lives on the tool worker for the duration of one call.
class ToolCallContext final : public ToolContext {
public:
  ToolCallContext(const json& arguments, std::shared_ptr<Session> session, std::shared_ptr<const StatelessCall> call,
                  std::stop_token stop, std::optional<json> progress_token, std::shared_ptr<Outbox> reply,
                  std::chrono::milliseconds default_timeout, const json* answers = nullptr)
      : arguments_(arguments), session_(std::move(session)), call_(std::move(call)), stop_(std::move(stop)),
        progress_token_(std::move(progress_token)), reply_(std::move(reply)), default_timeout_(default_timeout),
        capabilities_(session_ ? session_->client_capabilities() : call_->client_capabilities), answers_(answers) {}

  [[nodiscard]] const json& arguments() const override { return arguments_; }
  [[nodiscard]] const std::string& session_id() const override {
    static const std::string none;
    return session_ ? session_->id() : none;
  }
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
    const bool passes = session_ ? session_->log_passes(level) : call_->log_level && level >= *call_->log_level;
    if (!passes) return false;
    json params = {{"level", std::string(to_string(level))}, {"data", data}};
    if (!logger.empty()) params["logger"] = std::string(logger);
    return reply_->push(jsonrpc::make_notification("notifications/message", std::move(params)));
  }

  ClientReply ask_client(std::string_view method, json params, std::chrono::milliseconds timeout,
                         std::string_view key) override {
    const auto needed = capability_for(method);
    if (!needed.empty() && !capabilities_.contains(needed)) {
      return {ClientReply::Status::unsupported, nullptr,
              "the client did not declare the '" + std::string(needed) + "' capability"};
    }
    if (!session_) return ask_in_round(method, std::move(params), key);
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
    // has no priming event id or retry: to come back with. A stateless stream cannot be resumed.
    return session_ && pollable(session_->protocol_version()) && reply_->cut();
  }

  // Stateless: what this round asked the client, by key (an object; empty when nothing), and the
  // answers it used, to carry into the next round's requestState.
  [[nodiscard]] const json& input_requests() const { return input_requests_; }
  [[nodiscard]] const json& used_answers() const { return used_answers_; }

private:
  // The client capability a server-to-client request needs; empty when none.
  static std::string_view capability_for(std::string_view method) {
    if (method == "sampling/createMessage") return "sampling";
    if (method == "elicitation/create") return "elicitation";
    if (method == "roots/list") return "roots";
    return {};
  }

  // A stateless request asks by answering: the answer the client's retry carries for `key`, or
  // the question recorded for this round's InputRequiredResult.
  ClientReply ask_in_round(std::string_view method, json params, std::string_view key) {
    const std::string name = key.empty() ? "input-" + std::to_string(++asked_) : std::string(key);
    if (answers_ != nullptr) {
      const auto it = answers_->find(name);
      // Only an object is an answer (ElicitResult, CreateMessageResult, ListRootsResult); anything
      // else is asked again, as the spec advises for missing or unusable responses.
      if (it != answers_->end() && it->is_object()) {
        used_answers_[name] = *it;
        return {ClientReply::Status::result, *it, {}};
      }
    }
    json request = {{"method", std::string(method)}};
    if (!params.is_null()) request["params"] = std::move(params);
    input_requests_[name] = std::move(request);
    return {ClientReply::Status::input_required, nullptr, "asked in an InputRequiredResult; the handler runs again with the answer"};
  }

  // Tells the client we no longer wait for request `id` (best effort: the stream may be gone).
  void cancel(std::int64_t id, std::string_view reason) {
    reply_->push(jsonrpc::make_notification("notifications/cancelled",
                                            {{"requestId", id}, {"reason", std::string(reason)}}));
  }

  const json& arguments_;
  std::shared_ptr<Session> session_;            // legacy
  std::shared_ptr<const StatelessCall> call_;   // stateless
  std::stop_token stop_;
  std::optional<json> progress_token_;
  std::optional<double> last_progress_;
  std::shared_ptr<Outbox> reply_;
  const std::chrono::milliseconds default_timeout_;
  const json capabilities_;  // the session's (or the request's), copied once: a reference handed out must stay valid
  const json* answers_;      // stateless: the client's answers by key; null when none
  json input_requests_ = json::object();
  json used_answers_ = json::object();
  int asked_ = 0;
};

// params.name etc.: the member when it is a string.
const std::string* string_param(const json& params, std::string_view key) {
  if (!params.is_object()) return nullptr;
  const auto it = params.find(key);
  return it != params.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
}

// tools/list, resources/list, resources/templates/list, prompts/list.
bool is_list_method(std::string_view method) {
  return method == "tools/list" || method == "resources/list" || method == "resources/templates/list" ||
         method == "prompts/list";
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

std::optional<json> progress_token(const json& params) {
  if (!params.is_object()) return std::nullopt;
  const auto meta = params.find("_meta");
  if (meta == params.end() || !meta->is_object()) return std::nullopt;
  const auto token = meta->find("progressToken");
  if (token == meta->end() || !(token->is_string() || token->is_number_integer())) return std::nullopt;
  return *token;
}

json server_capabilities(const Catalog& catalog) {
  // listChanged: the catalog's ChangeFeed reaches GET streams and listen streams alike.
  json capabilities = {{"tools", {{"listChanged", true}}}, {"logging", json::object()}};
  if (!catalog.resources.empty()) capabilities["resources"] = {{"subscribe", true}, {"listChanged", true}};
  if (!catalog.prompts.empty()) capabilities["prompts"] = {{"listChanged", true}};
  if (catalog.has_completions()) {
    capabilities["completions"] = json::object();
  }
  return capabilities;
}

json initialize_result(const ServerInfo& info, std::string_view version, const Catalog& catalog) {
  json result = {
      {"protocolVersion", std::string(version)},
      {"capabilities", server_capabilities(catalog)},
      {"serverInfo", {{"name", info.name}, {"version", info.version}}},
  };
  if (!info.instructions.empty()) result["instructions"] = info.instructions;
  return result;
}

json discover_result(const ServerInfo& info, const Catalog& catalog, std::span<const std::string_view> versions) {
  json result = {{"supportedVersions", version_list(versions)}, {"capabilities", server_capabilities(catalog)}};
  if (!info.instructions.empty()) result["instructions"] = info.instructions;
  return result;
}

json modern_response(json response, std::string_view method, const ServerInfo& info) {
  const auto it = response.find("result");
  if (it == response.end() || !it->is_object()) return response;  // errors carry no resultType
  auto& result = *it;
  if (!result.contains("resultType")) result["resultType"] = "complete";
  // Caching hints on every complete result of the cacheable methods. ttlMs 0: a list can change
  // at any time (list_changed says when); public: nothing in them depends on who asks.
  const bool cacheable = method == "server/discover" || method == "resources/read" || is_list_method(method);
  if (cacheable && result["resultType"] == "complete") {
    if (!result.contains("ttlMs")) result["ttlMs"] = 0;
    // A resource's contents may be the caller's own data.
    if (!result.contains("cacheScope")) result["cacheScope"] = method == "resources/read" ? "private" : "public";
  }
  auto& meta = result["_meta"];
  if (!meta.is_object()) meta = json::object();
  meta[std::string(modern::kMetaServerInfo)] = {{"name", info.name}, {"version", info.version}};
  return response;
}

Dispatcher::Dispatcher(const Catalog& catalog, ToolPool& pool, Metrics& metrics,
                       std::chrono::milliseconds client_request_timeout)
    : catalog_(catalog), pool_(pool), metrics_(metrics), client_request_timeout_(client_request_timeout) {}

void Dispatcher::serve_stateless(const ServerInfo& info, std::shared_ptr<const RequestStateSeal> seal,
                                 std::chrono::milliseconds state_ttl, const Clock& clock) {
  info_ = &info;
  seal_ = std::move(seal);
  state_ttl_ = state_ttl;
  clock_ = &clock;
  wall_origin_ = std::chrono::system_clock::now();
  clock_origin_ = clock.now();
}

std::chrono::system_clock::time_point Dispatcher::state_now() const {
  return wall_origin_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(clock_->now() - clock_origin_);
}

void Dispatcher::handle_request(const std::shared_ptr<Session>& session, const jsonrpc::Message& request,
                                const std::shared_ptr<Outbox>& reply, InFlightGuard guard,
                                std::stop_token stop) {
  const auto& method = request.method;
  const Origin origin{.session = session, .call = nullptr, .who = "session " + session->id()};
  if (method == "tools/call") {
    call_tool(origin, request, reply, std::move(guard), std::move(stop), {});
    return;
  }
  // User code (readers, prompt builders, completers) runs on the pool: it may block.
  if (run_user_code(origin, request, reply, guard, stop, {})) return;
  reply->complete(jsonrpc::key_of(*request.id), answer(*session, request));
  guard.release();
}

bool Dispatcher::run_user_code(const Origin& origin, const jsonrpc::Message& request,
                               const std::shared_ptr<Outbox>& reply, InFlightGuard& guard, std::stop_token& stop,
                               const json& answers) {
  const auto& method = request.method;
  const bool modern = origin.call != nullptr;
  if (method == "resources/read" && !catalog_.resources.empty()) {
    run(origin, request, reply, std::move(guard), std::move(stop),
        [this, request, modern](const std::stop_token&) { return read_resource(request, modern); }, false, method);
    return true;
  }
  if (method == "prompts/get" && !catalog_.prompts.empty()) {
    run(origin, request, reply, std::move(guard), std::move(stop),
        [this, origin, request, reply, answers](const std::stop_token& cancel) {
          return get_prompt(origin, request, reply, cancel, answers);
        },
        false, method);
    return true;
  }
  if (method == "completion/complete" && catalog_.has_completions()) {
    run(origin, request, reply, std::move(guard), std::move(stop),
        [this, request](const std::stop_token&) { return complete(request); }, false, method);
    return true;
  }
  return false;
}

void Dispatcher::handle_stateless(const std::shared_ptr<const StatelessCall>& call, const jsonrpc::Message& request,
                                  const std::shared_ptr<Outbox>& reply, InFlightGuard guard, std::stop_token stop) {
  const auto& method = request.method;
  const auto& id = *request.id;
  const Origin origin{.session = nullptr, .call = call, .who = call->label};
  auto finish = [this, method](json response) { return modern_response(std::move(response), method, *info_); };
  auto answer_now = [&](json response) {
    reply->complete(jsonrpc::key_of(id), finish(std::move(response)));
    guard.release();
  };
  json answers = json::object();
  if (method == "tools/call" || method == "prompts/get" || method == "resources/read") {
    if (auto refusal = read_answers(*call, request, answers)) return answer_now(std::move(*refusal));
  }
  if (method == "tools/call") {
    call_tool(origin, request, reply, std::move(guard), std::move(stop), std::move(answers));
    return;
  }
  if (run_user_code(origin, request, reply, guard, stop, answers)) return;
  if (method == "server/discover") return answer_now(jsonrpc::make_result(id, discover_result(*info_, catalog_, kModernVersions)));
  const bool listing = is_list_method(method);
  if (!listing) return answer_now(error_response(errc::modern_method_not_found, request.id, method));
  if (has_cursor(request.params)) return answer_now(error_response(errc::invalid_params, request.id, "unknown cursor"));
  if (method == "tools/list") return answer_now(jsonrpc::make_result(id, json{{"tools", catalog_.tools.list()}}));
  if (method == "resources/list") return answer_now(jsonrpc::make_result(id, json{{"resources", catalog_.resources.list()}}));
  if (method == "resources/templates/list") {
    return answer_now(jsonrpc::make_result(id, json{{"resourceTemplates", catalog_.resources.list_templates()}}));
  }
  answer_now(jsonrpc::make_result(id, json{{"prompts", catalog_.prompts.list()}}));
}

std::optional<json> Dispatcher::read_answers(const StatelessCall& call, const jsonrpc::Message& request,
                                             json& answers) const {
  const json& params = request.params;
  if (!params.is_object()) return std::nullopt;
  if (const auto state = params.find("requestState"); state != params.end()) {
    if (!state->is_string()) return error_response(errc::invalid_request_state, request.id, "it must be a string");
    std::string why;
    auto payload = seal_->open(state->get_ref<const std::string&>(), state_now(), why);
    if (!payload) {
      log()->info("{}: {} refused: requestState {}", call.label, request.method, why);
      return error_response(errc::invalid_request_state, request.id, why);
    }
    // Bound to what it was issued for: a state cannot be replayed into another call, or by
    // another principal.
    if (payload->value("m", std::string()) != request.method || payload->value("n", std::string()) != target_of(request) ||
        payload->value("o", std::string()) != call.owner) {
      log()->info("{}: {} refused: requestState was issued for another request", call.label, request.method);
      return error_response(errc::invalid_request_state, request.id, "it was issued for another request");
    }
    if (const auto carried = payload->find("a"); carried != payload->end() && carried->is_object()) answers = *carried;
  }
  if (const auto responses = params.find("inputResponses"); responses != params.end() && !responses->is_null()) {
    if (!responses->is_object()) {
      return error_response(errc::invalid_params, request.id, "\"inputResponses\" must be an object");
    }
    for (const auto& [key, value] : responses->items()) answers[key] = value;
  }
  return std::nullopt;
}

std::string Dispatcher::target_of(const jsonrpc::Message& request) {
  const auto* name = string_param(request.params, request.method == "resources/read" ? "uri" : "name");
  return name != nullptr ? *name : std::string();
}

json Dispatcher::input_required(const jsonrpc::RequestId& id, const StatelessCall& call, const jsonrpc::Message& request,
                                const json& input_requests, const json& used_answers) {
  ++metrics_.input_required_results;
  const json state = {{"m", request.method}, {"n", target_of(request)}, {"o", call.owner}, {"a", used_answers}};
  log()->debug("{}: {} asks the client {} thing(s) in an InputRequiredResult", call.label, request.method,
               input_requests.size());
  return jsonrpc::make_result(id, {{"resultType", "input_required"},
                                   {"inputRequests", input_requests},
                                   {"requestState", seal_->seal(state, state_now() + state_ttl_)}});
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
  const bool listing = is_list_method(method);
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

void Dispatcher::call_tool(const Origin& origin, const jsonrpc::Message& request, const std::shared_ptr<Outbox>& reply,
                           InFlightGuard guard, std::stop_token stop, json answers) {
  const auto key = jsonrpc::key_of(*request.id);
  const json& params = request.params;
  auto refuse = [&](json response) {
    reply->complete(key, origin.call ? modern_response(std::move(response), request.method, *info_) : std::move(response));
  };
  const auto* name = string_param(params, "name");
  if (name == nullptr) return refuse(error_response(errc::invalid_params, request.id, "\"name\" must be a string"));
  const auto* tool = catalog_.tools.find(*name);
  if (tool == nullptr) return refuse(error_response(errc::invalid_params, request.id, "unknown tool '" + *name + "'"));
  json arguments = json::object();
  if (const auto args = params.find("arguments"); args != params.end() && !args->is_null()) {
    if (!args->is_object()) return refuse(error_response(errc::invalid_params, request.id, "\"arguments\" must be an object"));
    arguments = *args;
  }
  ++metrics_.tool_calls;
  auto job = [this, tool, origin, reply, request, arguments = std::move(arguments), answers = std::move(answers),
              token = progress_token(params)](const std::stop_token& cancel) {
    ToolCallContext context(arguments, origin.session, origin.call, cancel, token, reply, client_request_timeout_,
                            origin.call ? &answers : nullptr);
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
    if (origin.call && !context.input_requests().empty()) {
      return input_required(*request.id, *origin.call, request, context.input_requests(), context.used_answers());
    }
    return jsonrpc::make_result(*request.id, result.to_json());
  };
  run(origin, request, reply, std::move(guard), std::move(stop), std::move(job),
      tool->execution == ToolExecution::inline_nonblocking, tool->definition.name);
}

void Dispatcher::run(const Origin& origin, const jsonrpc::Message& request, const std::shared_ptr<Outbox>& reply,
                     InFlightGuard guard, std::stop_token stop, Job job, bool run_inline, std::string what) {
  // std::function needs a copyable job; the guard itself is move-only.
  auto held = std::make_shared<InFlightGuard>(std::move(guard));
  const ServerInfo* modern = origin.call ? info_ : nullptr;  // set: the answer speaks 2026-07-28
  auto task = [reply, key = jsonrpc::key_of(*request.id), id = *request.id, method = request.method,
               what = std::move(what), who = origin.who, modern, held = std::move(held), stop = std::move(stop),
               job = std::move(job)]() mutable {
    if (stop.stop_requested()) {
      // Cancelled (client, deadline or cancellation) while waiting for a worker: nobody can
      // receive the result, so the handler does not run at all. Released before the log line,
      // so whoever reads the line finds the request no longer in flight.
      held->release();
      log()->debug("{}: {} ({}) cancelled before it started", who, what, key);
      return;
    }
    json response;
    try {
      response = job(stop);
    } catch (const std::exception& e) {
      log()->warn("{}: {} ({}) failed: {}", who, what, key, e.what());
      response = error_response(errc::internal_error, id, e.what());
    } catch (...) {
      log()->warn("{}: {} ({}) failed with a non-standard exception", who, what, key);
      response = error_response(errc::internal_error, id);
    }
    if (modern != nullptr) response = modern_response(std::move(response), method, *modern);
    if (!reply->complete(key, response)) {
      log()->debug("{}: result of {} ({}) dropped: already answered or client gone", who, what, key);
    }
    held->release();
  };
  if (run_inline) {
    task();
  } else {
    pool_.submit(std::move(task));
  }
}

json Dispatcher::read_resource(const jsonrpc::Message& request, bool modern) const {
  const auto* uri = string_param(request.params, "uri");
  if (uri == nullptr) return error_response(errc::invalid_params, request.id, "\"uri\" must be a string");
  const auto match = catalog_.resources.find(*uri);
  std::vector<ResourceContent> contents;
  if (match) contents = (*match->reader)(*uri, match->variables);
  if (contents.empty()) {
    // 2026-07-28 retired -32002: an unknown resource is invalid params there.
    return error_response(modern ? errc::invalid_params : errc::resource_not_found, request.id,
                          modern ? "resource not found: " + *uri : *uri, json{{"uri", *uri}});
  }
  json list = json::array();
  for (const auto& c : contents) list.push_back(c.to_json());
  return jsonrpc::make_result(*request.id, json{{"contents", std::move(list)}});
}

json Dispatcher::get_prompt(const Origin& origin, const jsonrpc::Message& request, const std::shared_ptr<Outbox>& reply,
                            const std::stop_token& stop, const json& answers) {
  const json& params = request.params;
  const auto* name = string_param(params, "name");
  if (name == nullptr) return error_response(errc::invalid_params, request.id, "\"name\" must be a string");
  const auto* prompt = catalog_.prompts.find(*name);
  if (prompt == nullptr) return error_response(errc::invalid_params, request.id, "unknown prompt '" + *name + "'");
  PromptArguments arguments;
  json argument_object = json::object();
  if (const auto args = params.find("arguments"); args != params.end() && !args->is_null()) {
    if (!args->is_object()) return error_response(errc::invalid_params, request.id, "\"arguments\" must be an object");
    for (const auto& [key, value] : args->items()) {
      if (!value.is_string()) {
        return error_response(errc::invalid_params, request.id, "argument '" + key + "' must be a string");
      }
      arguments.emplace(key, value.get<std::string>());
    }
    argument_object = *args;
  }
  for (const auto& a : prompt->definition.arguments) {
    if (a.required && !arguments.contains(a.name)) {
      return error_response(errc::invalid_params, request.id, "missing required argument '" + a.name + "'");
    }
  }
  ToolCallContext context(argument_object, origin.session, origin.call, stop, progress_token(params), reply,
                          client_request_timeout_, origin.call ? &answers : nullptr);
  auto result = prompt->handler(arguments, context);
  if (origin.call && !context.input_requests().empty()) {
    return input_required(*request.id, *origin.call, request, context.input_requests(), context.used_answers());
  }
  return jsonrpc::make_result(*request.id, result.to_json());
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
