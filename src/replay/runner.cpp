#include "replay/runner.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <thread>

#include "graceway/jsonrpc.hpp"
#include "mcp/era.hpp"
#include "mcp/modern_request.hpp"
#include "replay/http_exchange.hpp"

namespace graceway::replay {
namespace {

using nlohmann::json;
using SteadyTime = std::chrono::steady_clock::time_point;
using std::chrono::milliseconds;

constexpr const char* kSessionHeader = "Mcp-Session-Id";

// One request on its own connection. The reader thread writes the fields below `mu`.
struct Exchange {
  std::unique_ptr<HttpExchange> http;
  std::thread reader;
  json id;                 // the JSON-RPC id sent; null for DELETE, GET and notifications
  std::string gate;        // set for gate calls
  bool modern = false;     // a stateless 2026-07-28 request
  bool progress_signals = false;
  std::size_t record = 0;  // index into Play::records_
  std::atomic<bool> dropped{false};  // the runner dropped the connection on purpose

  std::mutex mu;                // guards everything below
  std::condition_variable cv;   // head, progress and done
  bool head = false;
  bool done = false;
  int status = 0;
  std::string retry_after;
  std::string session_header;
  std::vector<json> messages;
  int progress = 0;
  bool ended = false;
  double head_ms = -1;
  double end_ms = -1;
};

Expectation default_expectation(const std::string& op) {
  Expectation x;
  if (op == "notify" || op == "cancel") {
    x.status = {202};
  } else if (op == "delete") {
    x.status = {200};
    x.spec_status = {200, 202, 204};
  } else {
    x.status = {200};
  }
  return x;
}

std::string join(const std::vector<int>& v) {
  std::string out;
  for (const int x : v) out += (out.empty() ? "" : " or ") + std::to_string(x);
  return out;
}

bool contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }
// No temporary vector: gcc 12 -O3 misreports one built from a brace list as used after free.
bool contains(std::initializer_list<int> v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

// "result", "error <code>" or "none": how the JSON-RPC request `id` was answered.
std::string answer_of(const std::vector<json>& messages, const json& id, int* code = nullptr) {
  if (id.is_null()) return "none";
  for (const auto& m : messages) {
    if (!m.is_object() || !m.contains("id") || m["id"] != id) continue;
    if (m.contains("result")) return "result";
    if (m.contains("error")) {
      const auto& c = m["error"].is_object() ? m["error"].value("code", json()) : json();
      if (code != nullptr && c.is_number_integer()) *code = c.get<int>();
      return "error";
    }
  }
  return "none";
}

class Play {
public:
  Play(const Scenario& scenario, Driver& driver, const RunnerOptions& options)
      : scenario_(scenario), driver_(driver), options_(options), start_(std::chrono::steady_clock::now()) {}

  Result run();

private:
  double now_ms() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
  }
  void fail(Level level, const Step& step, const std::string& what) {
    result_.failures.push_back({level, "step " + std::to_string(step.index + 1) + " (" + step.op + ")", what});
  }
  void mark(const std::string& session, const std::string& state) {
    if (session.empty()) return;
    auto& marks = result_.sessions[session];
    if (!marks.empty() && marks.back().state == state) return;
    if (!marks.empty() && marks.back().state == "closed") return;
    marks.push_back({now_ms(), state});
  }
  std::string session_id(const Step& step) const {
    if (!step.session_id.empty()) return step.session_id;
    const auto it = ids_.find(step.session);
    return it == ids_.end() ? std::string("no-such-session") : it->second;
  }
  HeaderList mcp_headers(const std::string& session) const {
    HeaderList h = {{"Content-Type", "application/json"}, {"Accept", "application/json, text/event-stream"}};
    if (!session.empty()) h.emplace_back(kSessionHeader, session);
    const auto v = versions_.find(session);
    if (v != versions_.end()) h.emplace_back("MCP-Protocol-Version", v->second);
    return h;
  }

  std::shared_ptr<Exchange> start(const Step& step, std::string label, const std::string& method, HeaderList headers,
                                  std::string body, json id);
  void wait_done(Exchange& ex);
  void settle(Exchange& ex);
  void judge(const Step& step, Exchange& ex, const Expectation& x);
  std::shared_ptr<Exchange> request(const Step& step, const std::string& label, const json& message,
                                    const std::string& session);
  std::shared_ptr<Exchange> modern_request(const Step& step, const std::string& label, json message);
  void wait_cancelled(const Step& step);
  void finish_sync(const Step& step, const std::shared_ptr<Exchange>& ex);
  void open(const Step& step);
  void step(const Step& step);
  void churn(const Step& step);
  bool wait_state(const std::string& session, const std::string& state);
  void final_checks();

  const Scenario& scenario_;
  Driver& driver_;
  const RunnerOptions& options_;
  const SteadyTime start_;
  Result result_;
  std::mutex records_mu_;                       // guards records_ (churn threads add to it)
  std::deque<RequestRecord> records_;
  std::map<std::string, std::string> ids_;      // session name -> Mcp-Session-Id
  std::map<std::string, std::string> versions_; // Mcp-Session-Id -> negotiated version
  std::map<std::string, std::shared_ptr<Exchange>> pending_;
  std::atomic<int> next_id_{1};
  std::optional<std::uint64_t> errors_before_;
  // Each counter the scenario bounds, read before its first step: the bound is on the change, so
  // a server that earlier scenarios (or anyone) used is judged on this scenario alone.
  std::map<std::string, std::optional<std::uint64_t>> counters_before_;
  // Over the wire, `cancelled` watches the server's cancellation counters: each one's value before
  // the first step, and how many cancellations the scenario has waited for on it so far.
  std::map<std::string, std::pair<std::optional<std::uint64_t>, std::uint64_t>> cancellations_;
  bool shut_down_ = false;
};

std::shared_ptr<Exchange> Play::start(const Step& step, std::string label, const std::string& method,
                                      HeaderList headers, std::string body, json id) {
  auto ex = std::make_shared<Exchange>();
  ex->http = std::make_unique<HttpExchange>(driver_.host(), driver_.port());
  ex->id = std::move(id);
  {
    std::lock_guard lock(records_mu_);
    RequestRecord r;
    r.name = step.as.empty() ? "#" + std::to_string(step.index + 1) : step.as;
    r.label = std::move(label);
    r.session = step.session.empty() ? step.session_id : step.session;
    r.start_ms = now_ms();
    records_.push_back(std::move(r));
    ex->record = records_.size() - 1;
  }
  const auto head_timeout = options_.head_timeout;
  const auto body_timeout = options_.body_timeout;
  ex->reader = std::thread([this, ex = ex.get(), method, headers = std::move(headers), body = std::move(body),
                            head_timeout, body_timeout] {
    const bool sent = ex->http->send(method, driver_.path(), headers, body);
    const int status = sent ? ex->http->read_head(head_timeout) : 0;
    {
      std::lock_guard lock(ex->mu);
      ex->status = status;
      ex->head = true;
      if (status != 0) {
        ex->head_ms = now_ms();
        ex->retry_after = ex->http->header("Retry-After");
        ex->session_header = ex->http->header(kSessionHeader);
      }
    }
    ex->cv.notify_all();
    if (status != 0) {
      const auto deadline = std::chrono::steady_clock::now() + body_timeout;
      const bool sse = ex->http->header("Content-Type").rfind("text/event-stream", 0) == 0;
      if (sse) {
        while (auto m = ex->http->next_message(
                   std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now()))) {
          {
            std::lock_guard lock(ex->mu);
            // Whatever a server sends must not throw here: check the shape before reading it.
            if (m->is_object() && jsonrpc::string_member(*m, "method") == "notifications/progress") ++ex->progress;
            ex->messages.push_back(std::move(*m));
          }
          ex->cv.notify_all();
        }
      } else if (ex->http->read_to_end(
                     std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now()))) {
        const auto parsed = json::parse(ex->http->body_so_far(), nullptr, false);
        std::lock_guard lock(ex->mu);
        if (parsed.is_array()) {
          for (const auto& m : parsed) ex->messages.push_back(m);
        } else if (parsed.is_object()) {
          ex->messages.push_back(parsed);
        }
      }
    }
    {
      std::lock_guard lock(ex->mu);
      ex->ended = ex->http->ended();
      ex->done = true;
      if (ex->ended || ex->http->eof() || ex->dropped.load()) ex->end_ms = now_ms();
    }
    ex->cv.notify_all();
  });
  return ex;
}

void Play::wait_done(Exchange& ex) {
  if (ex.reader.joinable()) ex.reader.join();  // bounded: every read has a deadline
}

// Copies what the reader saw into the timeline.
void Play::settle(Exchange& ex) {
  wait_done(ex);
  std::lock_guard lock(records_mu_);
  auto& r = records_[ex.record];
  std::lock_guard ex_lock(ex.mu);
  r.status = ex.status;
  r.head_ms = ex.head_ms;
  r.end_ms = ex.end_ms;
  r.retry_after = ex.retry_after;
  r.progress = ex.progress;
  int code = 0;
  const auto answer = answer_of(ex.messages, ex.id, &code);
  if (ex.status == 0) {
    r.outcome = ex.dropped ? "dropped by client" : "no response";
  } else if (ex.dropped) {
    r.outcome = "dropped by client";
  } else if (answer == "result") {
    r.outcome = "result";
  } else if (answer == "error") {
    r.outcome = "error " + std::to_string(code);
  } else if (!ex.ended) {
    r.outcome = "never ended";
  } else {
    r.outcome = !ex.id.is_null() ? "ended without a response" : "done";
  }
}

void Play::judge(const Step& step, Exchange& ex, const Expectation& x) {
  std::lock_guard lock(ex.mu);
  if (ex.status == 0) {
    if (!ex.dropped) fail(Level::spec, step, "no HTTP response: the connection closed or nothing came in time");
    return;
  }
  if (ex.status >= 500 && ex.status != 503) {
    fail(Level::spec, step, "HTTP " + std::to_string(ex.status) + ": a server error");
  }
  const auto& spec = x.spec_status.empty() ? x.status : x.spec_status;
  if (!x.status.empty() && !contains(x.status, ex.status)) {
    if (!spec.empty() && !contains(spec, ex.status)) {
      fail(Level::spec, step, "HTTP " + std::to_string(ex.status) + "; the spec allows " + join(spec));
    } else {
      fail(Level::graceway, step, "HTTP " + std::to_string(ex.status) + "; graceway answers " + join(x.status));
    }
  }
  if (x.retry_after && ex.status == 503) {
    int seconds = -1;
    const auto& v = ex.retry_after;
    std::from_chars(v.data(), v.data() + v.size(), seconds);
    if (seconds < x.retry_after->first || seconds > x.retry_after->second) {
      fail(Level::graceway, step,
           "Retry-After '" + v + "'; expected " + std::to_string(x.retry_after->first) + ".." +
               std::to_string(x.retry_after->second));
    }
  }
  if (ex.dropped) return;  // the runner left; nothing more to judge
  int code = 0;
  const auto answer = answer_of(ex.messages, ex.id, &code);
  if (x.response != "any" && answer != x.response) {
    fail(x.response_level, step, "JSON-RPC answer: " + answer + "; expected " + x.response);
  }
  if (x.error_code && answer == "error" && code != *x.error_code) {
    fail(x.response_level, step, "JSON-RPC error " + std::to_string(code) + "; expected " + std::to_string(*x.error_code));
  }
  if (x.ends && !ex.ended) {
    // Once the answer is in, ending the stream is a SHOULD of the transport, not a MUST.
    const bool answered = answer == "result" || answer == "error";
    fail(answered ? Level::graceway : x.ends_level, step,
         answered ? "the stream never ended after its response (a hung stream)"
                  : "the response body never ended (a hung stream)");
  }
  if (!x.ends && ex.ended) fail(Level::graceway, step, "the stream ended; expected it to stay open");
  if (x.session_header && *x.session_header != !ex.session_header.empty()) {
    fail(Level::graceway, step,
         *x.session_header ? "no Mcp-Session-Id in the response; expected one"
                           : "the response carries Mcp-Session-Id " + ex.session_header + "; expected none");
  }
}

std::shared_ptr<Exchange> Play::request(const Step& step, const std::string& label, const json& message,
                                        const std::string& session) {
  return start(step, label, "POST", mcp_headers(session), message.dump(), message.value("id", json()));
}

// A 2026-07-28 request: its version and the client's capabilities (none) in params._meta, and the
// routing headers that mirror the body. It belongs to no session: an Mcp-Session-Id goes along
// only when the step names a session, to see what the server makes of it.
std::shared_ptr<Exchange> Play::modern_request(const Step& step, const std::string& label, json message) {
  namespace modern = mcp::modern;
  const std::string version(mcp::kModernVersions.front());
  const std::string method = message.value("method", std::string());
  auto& params = message["params"];
  if (!params.is_object()) params = json::object();
  auto& meta = params["_meta"];
  meta[std::string(modern::kMetaProtocolVersion)] = version;
  meta[std::string(modern::kMetaClientCapabilities)] = json::object();
  meta[std::string(modern::kMetaClientInfo)] = {{"name", "graceway-replay"}, {"version", "1"}};
  HeaderList headers = {{"Content-Type", "application/json"},
                        {"Accept", "application/json, text/event-stream"},
                        {std::string(modern::kHeaderProtocolVersion), version},
                        {std::string(modern::kHeaderMethod), method}};
  const char* named = method == "tools/call" || method == "prompts/get" ? "name"
                      : method == "resources/read"                      ? "uri"
                                                                        : nullptr;
  if (named != nullptr) {
    if (const auto value = jsonrpc::string_member(params, named)) {
      headers.emplace_back(std::string(modern::kHeaderName), modern::encode_header_value(*value));
    }
  }
  if (!step.session.empty() || !step.session_id.empty()) headers.emplace_back(kSessionHeader, session_id(step));
  auto ex = start(step, "stateless " + label, "POST", std::move(headers), message.dump(), message.value("id", json()));
  ex->modern = true;
  return ex;
}

void Play::finish_sync(const Step& step, const std::shared_ptr<Exchange>& ex) {
  if (!step.as.empty()) {
    pending_[step.as] = ex;
    return;
  }
  settle(*ex);
  judge(step, *ex, step.expect.value_or(default_expectation(step.op)));
  // A stateless request's status says nothing about the session whose id it carried.
  const auto sid = step.modern ? std::string() : step.session;
  std::lock_guard lock(ex->mu);
  if (ex->status == 404) mark(sid, "closed");
  if (ex->status == 503 && step.op != "open") mark(sid, "draining");
}

void Play::open(const Step& step) {
  const json init = {{"jsonrpc", "2.0"},
                     {"id", next_id_++},
                     {"method", "initialize"},
                     {"params",
                      {{"protocolVersion", step.version},
                       {"capabilities", json::object()},
                       {"clientInfo", {{"name", "graceway-replay"}, {"version", "1"}}}}}};
  auto ex = request(step, "initialize", init, "");
  settle(*ex);
  const auto x = step.expect.value_or(default_expectation("open"));
  judge(step, *ex, x);
  std::string id;
  std::string version = step.version;
  {
    std::lock_guard lock(ex->mu);
    if (ex->status != 200) return;
    id = ex->session_header;
    for (const auto& m : ex->messages) {
      if (!m.is_object()) continue;
      if (auto v = jsonrpc::string_member(m.value("result", json::object()), "protocolVersion")) version = *v;
    }
  }
  if (id.empty()) {
    // The spec lets a server be stateless (it MAY assign a session id): no session, no race.
    result_.skipped = true;
    result_.skip_reason = "the server assigns no Mcp-Session-Id (stateless): session races do not apply";
    return;
  }
  ids_[step.session] = id;
  versions_[id] = version;
  mark(step.session, "open");
  Step note = step;
  note.op = "notify";
  note.as.clear();
  note.expect.reset();
  auto initialized = request(note, "notifications/initialized",
                             {{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}, id);
  settle(*initialized);
  judge(note, *initialized, default_expectation("notify"));
}

bool Play::wait_state(const std::string& session, const std::string& state) {
  const auto id = ids_.count(session) != 0 ? ids_[session] : session;
  if (auto exact = driver_.wait_state(id, state, options_.state_timeout)) return *exact;
  // Over the wire: observe through a ping on the session (200 open, 503 draining, 404 closed).
  const int wanted = state == "closed" ? 404 : state == "draining" ? 503 : 200;
  // Each probe is activity on the session, so the gaps grow: an idle expiry still gets its chance.
  const auto give_up = std::chrono::steady_clock::now() + options_.state_timeout;
  auto gap = milliseconds(20);
  while (std::chrono::steady_clock::now() < give_up) {
    HttpExchange probe(driver_.host(), driver_.port());
    const json ping = {{"jsonrpc", "2.0"}, {"id", "probe"}, {"method", "ping"}};
    probe.send("POST", driver_.path(), mcp_headers(id), ping.dump());
    const int status = probe.read_head(options_.head_timeout);
    if (status == wanted || (state == "draining" && status == 404)) return true;
    std::this_thread::sleep_for(gap);  // observation interval over the wire only
    gap = std::min(gap * 2, milliseconds(1000));
  }
  return false;
}

void Play::wait_cancelled(const Step& s) {
  auto& ex = *pending_[s.request];
  if (auto exact = ex.gate.empty() ? std::nullopt : driver_.wait_cancelled(ex.gate, options_.state_timeout)) {
    if (!*exact) fail(Level::graceway, s, "the tool of " + s.request + " was never cancelled");
    return;
  }
  // Over the wire: the server's count of cancelled calls, where it has /metrics, must rise by one
  // more than the scenario has waited for so far.
  const std::string counter = ex.modern ? "stateless_requests_cancelled" : "tool_calls_cancelled";
  auto& [before, awaited] = cancellations_[counter];
  ++awaited;
  const auto give_up = std::chrono::steady_clock::now() + options_.state_timeout;
  auto gap = milliseconds(5);
  std::optional<std::uint64_t> now = before ? driver_.counter(counter) : std::nullopt;
  while (now && *now < *before + awaited && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(gap);  // observation interval over the wire only
    gap = std::min(gap * 2, milliseconds(200));
    now = driver_.counter(counter);
  }
  if (!now) {
    result_.notes.push_back("the cancellation of " + s.request + " is not observable here (no " + counter + ")");
  } else if (*now < *before + awaited) {
    fail(Level::graceway, s,
         s.request + " was never cancelled: " + counter + " rose by " + std::to_string(*now - *before) + ", expected " +
             std::to_string(awaited));
  }
}

void Play::churn(const Step& step) {
  // Each worker: open a session, start a call, then DELETE and tools/list at the same moment.
  std::atomic<int> next{0};
  std::atomic<bool> stateless{false};
  std::mutex failures_mu;  // guards result_.failures from the workers
  auto worker = [&] {
    for (int i = next++; i < step.sessions; i = next++) {
      HttpExchange init(driver_.host(), driver_.port());
      const json msg = {{"jsonrpc", "2.0"},
                        {"id", 1},
                        {"method", "initialize"},
                        {"params",
                         {{"protocolVersion", "2025-11-25"},
                          {"capabilities", json::object()},
                          {"clientInfo", {{"name", "graceway-replay"}, {"version", "1"}}}}}};
      init.send("POST", driver_.path(), mcp_headers(""), msg.dump());
      const int status = init.read_head(options_.head_timeout);
      init.read_to_end(options_.body_timeout);
      const auto id = init.header(kSessionHeader);
      auto problem = [&](Level level, const std::string& what) {
        std::lock_guard lock(failures_mu);
        fail(level, step, "session " + std::to_string(i) + ": " + what);
      };
      if (status != 200) {
        problem(Level::spec, "initialize answered " + std::to_string(status));
        continue;
      }
      if (id.empty()) {  // a stateless server (the spec allows it): no session to race
        stateless = true;
        continue;
      }
      HttpExchange call(driver_.host(), driver_.port());
      const json echo = {{"jsonrpc", "2.0"}, {"id", 2}, {"method", "tools/call"},
                         {"params", {{"name", "echo"}, {"arguments", {{"text", "churn"}}}}}};
      call.send("POST", driver_.path(), mcp_headers(id), echo.dump());
      const int call_status = call.read_head(options_.head_timeout);  // admitted before the race
      HttpExchange del(driver_.host(), driver_.port());
      HttpExchange list(driver_.host(), driver_.port());
      const json tools = {{"jsonrpc", "2.0"}, {"id", 3}, {"method", "tools/list"}};
      del.send("DELETE", driver_.path(), {{kSessionHeader, id}});
      list.send("POST", driver_.path(), mcp_headers(id), tools.dump());
      const auto call_messages = call.read_all(options_.body_timeout);
      const int del_status = del.read_head(options_.head_timeout);
      const int list_status = list.read_head(options_.head_timeout);
      list.read_to_end(options_.body_timeout);
      if (call_status != 200 || answer_of(call_messages, 2) != "result") {
        problem(Level::graceway, "the echo call in flight answered " + std::to_string(call_status) + " / " +
                                     answer_of(call_messages, 2));
      }
      if (!contains({200, 202, 204}, del_status)) problem(Level::spec, "DELETE answered " + std::to_string(del_status));
      if (!contains({200, 404, 503}, list_status)) {
        problem(Level::spec, "tools/list racing the DELETE answered " + std::to_string(list_status));
      }
    }
  };
  std::vector<std::thread> workers;
  workers.reserve(static_cast<std::size_t>(step.parallel));
  for (int w = 0; w < step.parallel; ++w) workers.emplace_back(worker);
  for (auto& t : workers) t.join();
  if (stateless) {
    result_.skipped = true;
    result_.skip_reason = "the server assigns no Mcp-Session-Id (stateless): session races do not apply";
  }
  std::lock_guard lock(records_mu_);
  RequestRecord r;
  r.name = "#" + std::to_string(step.index + 1);
  r.label = "churn x" + std::to_string(step.sessions);
  r.start_ms = now_ms();
  r.end_ms = r.start_ms;
  r.outcome = "done";
  records_.push_back(r);
}

void Play::step(const Step& s) {
  if (s.op == "open") return open(s);
  if (s.op == "post") {
    json m = {{"jsonrpc", "2.0"}, {"id", next_id_++}, {"method", s.method}};
    if (!s.params.is_null()) m["params"] = s.params;
    return finish_sync(s, s.modern ? modern_request(s, s.method, std::move(m)) : request(s, s.method, m, session_id(s)));
  }
  if (s.op == "call") {
    json params;
    std::string label;
    bool progress = false;
    if (!s.gate.empty()) {
      const auto gate = driver_.gate_call(s.gate, s.stubborn);
      params = {{"name", gate.tool}, {"arguments", gate.arguments}};
      label = "tools/call " + gate.tool + " (" + s.gate + ")";
      progress = gate.signals_progress;
    } else {
      params = {{"name", s.tool}, {"arguments", s.args}};
      label = "tools/call " + s.tool;
    }
    const int id = next_id_++;
    params["_meta"] = {{"progressToken", "p" + std::to_string(id)}};
    json m = {{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/call"}, {"params", std::move(params)}};
    auto ex = s.modern ? modern_request(s, label, std::move(m)) : request(s, label, m, session_id(s));
    ex->gate = s.gate;
    ex->progress_signals = progress;
    return finish_sync(s, ex);
  }
  if (s.op == "notify") {
    json m = {{"jsonrpc", "2.0"}, {"method", s.method}};
    if (!s.params.is_null()) m["params"] = s.params;
    return finish_sync(s, request(s, s.method, m, session_id(s)));
  }
  if (s.op == "cancel") {
    json target = pending_.count(s.request) != 0 ? pending_[s.request]->id : json(s.request);
    const json m = {{"jsonrpc", "2.0"},
                    {"method", "notifications/cancelled"},
                    {"params", {{"requestId", target}, {"reason", "graceway-replay"}}}};
    return finish_sync(s, request(s, "notifications/cancelled", m, session_id(s)));
  }
  if (s.op == "delete") {
    auto ex = start(s, "DELETE", "DELETE", {{kSessionHeader, session_id(s)}}, "", json());
    if (s.as.empty()) {
      finish_sync(s, ex);
      std::lock_guard lock(ex->mu);
      if (ex->status == 200 || ex->status == 204) mark(s.session, "draining");
      return;
    }
    return finish_sync(s, ex);
  }
  if (s.op == "get") {
    auto headers = mcp_headers(session_id(s));
    headers.erase(headers.begin());  // no Content-Type on a GET
    headers[0] = {"Accept", "text/event-stream"};
    auto ex = start(s, "GET", "GET", headers, "", json());
    if (!s.as.empty()) {
      // The stream is open once its head is in; later steps may rely on that.
      std::unique_lock lock(ex->mu);
      ex->cv.wait(lock, [&] { return ex->head; });
      pending_[s.as] = ex;
      return;
    }
    // A GET that must be refused: judge the head, then leave.
    {
      std::unique_lock lock(ex->mu);
      ex->cv.wait(lock, [&] { return ex->head; });
    }
    ex->dropped = true;
    ex->http->abort();
    settle(*ex);
    return judge(s, *ex, s.expect.value_or(default_expectation("get")));
  }
  if (s.op == "close" || s.op == "drop") {
    auto& ex = *pending_[s.request];
    ex.dropped = true;
    ex.http->abort();
    return;
  }
  if (s.op == "started") {
    auto& ex = *pending_[s.request];
    if (auto exact = ex.gate.empty() ? std::nullopt : driver_.wait_started(ex.gate, options_.state_timeout)) {
      if (!*exact) fail(Level::graceway, s, "the tool of " + s.request + " never started");
      return;
    }
    std::unique_lock lock(ex.mu);
    if (!ex.cv.wait_for(lock, options_.state_timeout, [&] { return ex.progress > 0 || ex.done; }) ||
        ex.progress == 0) {
      // Progress notifications are optional in the spec: without them the runner cannot tell.
      fail(Level::graceway, s, "no progress notification from " + s.request + ": the tool never started");
    }
    return;
  }
  if (s.op == "cancelled") return wait_cancelled(s);
  if (s.op == "release") return driver_.release(s.gate);
  if (s.op == "await") {
    auto& ex = *pending_[s.request];
    settle(ex);
    Step named = s;
    named.op = "await " + s.request;
    judge(named, ex, s.expect.value_or(default_expectation("post")));
    return;
  }
  if (s.op == "wait_state") {
    if (!wait_state(s.session, s.state)) fail(Level::graceway, s, s.session + " never reached " + s.state);
    mark(s.session, s.state);
    return;
  }
  if (s.op == "shutdown") {
    if (!driver_.shutdown()) {
      result_.skipped = true;
      result_.skip_reason = "needs a server the runner can shut down (graceway-replay --graceway)";
      return;
    }
    shut_down_ = true;
    for (const auto& [name, id] : ids_) mark(name, "draining");
    return;
  }
  if (s.op == "exit") {
    const auto code = driver_.wait_exit(options_.state_timeout);
    if (!code) {
      result_.notes.push_back("exit code not observable here");
    } else if (*code != 0) {
      fail(Level::graceway, s, "the process exited with " + std::to_string(*code) + ", not 0");
    }
    for (const auto& [name, id] : ids_) mark(name, "closed");
    return;
  }
  if (s.op == "churn") return churn(s);
}

void Play::final_checks() {
  Step end;
  end.op = "end";
  end.index = scenario_.steps.size();
  if (scenario_.no_error_logs) {
    const auto after = driver_.error_lines();
    if (errors_before_ && after && *after != *errors_before_) {
      fail(Level::graceway, end, std::to_string(*after - *errors_before_) + " error-level log line(s)");
    } else if (!after) {
      result_.notes.push_back("error-level log lines not observable here");
    }
  }
  for (const auto& [name, bound] : scenario_.counters) {
    const auto before = counters_before_[name];
    const auto after = driver_.counter(name);
    if (!before || !after) {
      result_.notes.push_back("counter " + name + " not observable here");
      continue;
    }
    if (*after < *before) {
      result_.notes.push_back("counter " + name + " went back from " + std::to_string(*before) + " to " +
                              std::to_string(*after) + " (the server restarted?); not judged");
      continue;
    }
    const auto rose = *after - *before;
    if ((bound.min && rose < *bound.min) || (bound.max && rose > *bound.max)) {
      fail(Level::graceway, end,
           "counter " + name + " rose by " + std::to_string(rose) + " (" + std::to_string(*before) + " -> " +
               std::to_string(*after) + "), expected " +
               (bound.min ? ">= " + std::to_string(*bound.min) : std::string()) +
               (bound.min && bound.max ? " and " : "") + (bound.max ? "<= " + std::to_string(*bound.max) : ""));
    }
  }
  if (!shut_down_ && !result_.skipped) {
    // The server must still serve: a crash or a wedged listener is a spec failure of its own.
    HttpExchange ping(driver_.host(), driver_.port());
    const json init = {{"jsonrpc", "2.0"},
                       {"id", 0},
                       {"method", "initialize"},
                       {"params",
                        {{"protocolVersion", "2025-11-25"},
                         {"capabilities", json::object()},
                         {"clientInfo", {{"name", "graceway-replay"}, {"version", "1"}}}}}};
    ping.send("POST", driver_.path(), mcp_headers(""), init.dump());
    const int status = ping.read_head(options_.head_timeout);
    if (status != 200 && status != 503) {
      fail(Level::spec, end, "after the scenario a new initialize got " + std::to_string(status));
    }
    ping.read_to_end(options_.body_timeout);
    if (const auto id = ping.header(kSessionHeader); !id.empty()) {
      HttpExchange del(driver_.host(), driver_.port());
      del.send("DELETE", driver_.path(), {{kSessionHeader, id}});
      del.read_head(options_.head_timeout);
    }
  }
}

Result Play::run() {
  result_.name = scenario_.name;
  result_.summary = scenario_.summary;
  result_.file = scenario_.file;
  errors_before_ = driver_.error_lines();
  for (const auto& [name, bound] : scenario_.counters) counters_before_[name] = driver_.counter(name);
  if (scenario_.uses("cancelled")) {
    for (const char* name : {"tool_calls_cancelled", "stateless_requests_cancelled"}) {
      cancellations_[name] = {driver_.counter(name), 0};
    }
  }
  for (const auto& s : scenario_.steps) {
    step(s);
    if (result_.skipped) break;
  }
  // Anything still running: let gates go and wait for the readers (their reads are bounded).
  for (const auto& s : scenario_.steps) {
    if (!s.gate.empty()) driver_.release(s.gate);
  }
  for (auto& [name, ex] : pending_) {
    if (ex->reader.joinable()) {
      ex->dropped = true;
      ex->http->abort();
    }
    settle(*ex);
  }
  if (!result_.skipped) final_checks();
  result_.duration_ms = now_ms();
  result_.requests.assign(records_.begin(), records_.end());
  return std::move(result_);
}

}  // namespace

std::string Result::verdict() const {
  if (skipped) return "skipped";
  bool graceway_only = false;
  for (const auto& f : failures) {
    if (f.level == Level::spec) return "spec-violation";
    graceway_only = true;
  }
  return graceway_only ? "graceway-expectation" : "pass";
}

Result run_scenario(const Scenario& scenario, Driver& driver, const RunnerOptions& options) {
  return Play(scenario, driver, options).run();
}

}  // namespace graceway::replay
