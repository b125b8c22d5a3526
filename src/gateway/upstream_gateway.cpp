#include "gateway/upstream_gateway.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <functional>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include "graceway/duration.hpp"
#include "graceway/logging.hpp"
#include "transport/error_mapping.hpp"
#include "transport/sse.hpp"

namespace graceway {

namespace gateway {
namespace {

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Headers graceway writes itself on every upstream request, or that only make sense per hop.
bool reserved_header(const std::string& lowered) {
  static constexpr std::array<std::string_view, 14> kReserved = {
      "host", "content-length", "content-type", "transfer-encoding", "connection", "keep-alive", "te",
      "trailer", "upgrade", "proxy-connection", "accept", "mcp-session-id", "mcp-protocol-version", "last-event-id"};
  return std::find(kReserved.begin(), kReserved.end(), lowered) != kReserved.end();
}

struct HeaderLine {
  std::string name;
  std::string value;
};

// "Name: value" from --upstream-header; `why` says what is wrong otherwise.
std::optional<HeaderLine> parse_header_line(std::string_view line, std::string& why) {
  const auto colon = line.find(':');
  const auto name = trim(line.substr(0, colon));
  if (colon == std::string_view::npos || name.empty() || !std::all_of(name.begin(), name.end(), is_token_char)) {
    why = "must be 'Name: value'";
    return std::nullopt;
  }
  const auto value = trim(line.substr(colon + 1));
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    why = "must not hold a line break or NUL";
    return std::nullopt;
  }
  if (reserved_header(lower(name))) {
    why = "names a header graceway sets itself";
    return std::nullopt;
  }
  return HeaderLine{std::string(name), std::string(value)};
}

}  // namespace

std::optional<UpstreamUrl> parse_upstream_url(std::string_view url, std::string& why) {
  constexpr std::string_view kScheme = "http://";
  if (lower(url.substr(0, 8)) == "https://") {
    why = "https:// upstreams are not supported; graceway expects its upstream on loopback or a private network (http://)";
    return std::nullopt;
  }
  if (url.size() < kScheme.size() || lower(url.substr(0, kScheme.size())) != kScheme) {
    why = "'" + std::string(url) + "' is not an http:// URL";
    return std::nullopt;
  }
  auto rest = url.substr(kScheme.size());
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  const auto authority_end = rest.find_first_of("/?");
  const auto authority = rest.substr(0, authority_end);
  UpstreamUrl out;
  out.target = authority_end == std::string_view::npos ? "/" : std::string(rest.substr(authority_end));
  if (out.target.front() == '?') out.target.insert(0, "/");
  if (authority.find('@') != std::string_view::npos) {
    why = "credentials in the URL are not sent; use --upstream-header";
    return std::nullopt;
  }
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      why = "'" + std::string(url) + "' has an unterminated IPv6 address";
      return std::nullopt;
    }
    out.host = std::string(authority.substr(1, close - 1));
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        why = "'" + std::string(url) + "' has junk after its IPv6 address";
        return std::nullopt;
      }
      port = after.substr(1);
    }
  } else {
    const auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) {
    why = "'" + std::string(url) + "' names no host";
    return std::nullopt;
  }
  unsigned number = 80;
  if (!port.empty()) {
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
    if (ec != std::errc() || end != port.data() + port.size() || number == 0 || number > 65535) {
      why = "'" + std::string(url) + "' has a bad port";
      return std::nullopt;
    }
  }
  out.port = std::to_string(number);
  out.host_header = std::string(authority);
  return out;
}

}  // namespace gateway

std::vector<std::string> validate(const UpstreamGatewayOptions& options) {
  std::vector<std::string> problems;
  std::string why;
  if (options.url.empty()) {
    problems.emplace_back("--upstream needs a URL");
  } else if (!gateway::parse_upstream_url(options.url, why)) {
    problems.push_back("--upstream: " + why);
  }
  for (const auto& line : options.headers) {
    if (!gateway::parse_header_line(line, why)) {
      std::string problem = "--upstream-header '";
      problem.append(line).append("' ").append(why);
      problems.push_back(std::move(problem));
    }
  }
  if (options.connect_timeout.count() <= 0) problems.emplace_back("--upstream-connect-timeout must be positive");
  if (options.idle_timeout.count() <= 0) problems.emplace_back("--upstream-idle-timeout must be positive");
  if (options.delete_timeout.count() <= 0) problems.emplace_back("--upstream-delete-timeout must be positive");
  if (options.max_message_bytes < 1024) problems.emplace_back("--upstream-max-message-bytes must be at least 1024");
  if (options.unready_after_failures <= 0) problems.emplace_back("the readiness failure count must be positive");
  return problems;
}

namespace gateway {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using nlohmann::json;
using error_code = boost::system::error_code;

std::string_view view(beast::string_view text) { return {text.data(), text.size()}; }

std::shared_ptr<spdlog::logger> log() {
  static const auto logger = logging::get("graceway.gateway");
  return logger;
}

constexpr std::size_t kReadChunk = std::size_t{16} * 1024;
// The body of an upstream error answer that graceway reads for a JSON-RPC error in it.
constexpr std::size_t kErrorBodyBytes = std::size_t{64} * 1024;
// An upstream stream that broke before its answer is resumed this many times in a row without a
// new event before the request fails; without a retry: field, after kDefaultRetry.
constexpr int kMaxResumes = 3;
constexpr auto kDefaultRetry = std::chrono::milliseconds(1000);
constexpr auto kLongestRetry = std::chrono::milliseconds(30000);
// A standalone GET stream that ends or fails is reopened this many times in a row (no event in
// between) before graceway gives up on it for the session.
constexpr int kMaxListenReconnects = 3;

enum class Purpose {
  call,     // POST of a client request; its answer comes back on this exchange
  resume,   // GET + Last-Event-ID continuing a call's broken SSE stream
  message,  // POST of a client notification or answer: 202 expected
  listen,   // the standalone GET stream
  remove,   // the DELETE of the upstream session
};

const char* describe(Purpose purpose) {
  switch (purpose) {
    case Purpose::call: return "request";
    case Purpose::resume: return "stream resumption";
    case Purpose::message: return "message";
    case Purpose::listen: return "GET stream";
    case Purpose::remove: return "DELETE";
  }
  return "exchange";
}

struct Exchange;

// A client request sent upstream and not answered yet.
struct Call {
  jsonrpc::RequestId id;
  std::string key;
  std::shared_ptr<Outbox> reply;
  InFlightGuard guard;
  bool initialize = false;
  std::unique_ptr<std::stop_callback<std::function<void()>>> on_stop;
  std::weak_ptr<Exchange> carrier;  // the exchange its stream comes on now
  int resumes_in_a_row = 0;
  // Across the exchanges of its stream (the POST, then each resuming GET): where to resume from,
  // and how long the upstream asked to wait first.
  std::string last_event_id;
  std::chrono::milliseconds retry{0};
};

struct Link;

// One upstream HTTP exchange on a connection of its own. I/O thread only.
struct Exchange : std::enable_shared_from_this<Exchange> {
  Exchange(net::io_context& io, std::shared_ptr<Link> owner, Purpose what, std::size_t max_event_bytes)
      : link(std::move(owner)), purpose(what), stream(io), resolver(io), resolve_timer(io), events(max_event_bytes) {}

  const std::shared_ptr<Link> link;
  const Purpose purpose;
  std::shared_ptr<Call> call;  // call and resume only
  std::string method;          // the JSON-RPC method carried, for the log
  bool opens_listener = false; // notifications/initialized: the GET stream opens after it

  beast::tcp_stream stream;
  tcp::resolver resolver;
  net::steady_timer resolve_timer;
  beast::flat_buffer buffer;
  http::request<http::string_body> request;
  std::optional<http::response_parser<http::buffer_body>> parser;
  std::array<char, kReadChunk> chunk{};
  int status = 0;
  bool sse = false;            // the answer is an event stream
  bool connected = false;
  bool aborted = false;        // graceway dropped it: its handlers only clean up
  sse::Decoder events;
  std::size_t oversized_seen = 0;
  std::string body;            // a JSON answer, or the start of an error answer
  std::chrono::milliseconds retry{0};
};

// A graceway session and its upstream session. I/O thread only, but for the constant members.
struct Link {
  Link(net::io_context& io, std::string id, std::weak_ptr<Session> owner)
      : session_id(std::move(id)), session(std::move(owner)), close_timer(io), listen_timer(io) {}

  const std::string session_id;
  const std::weak_ptr<Session> session;
  std::optional<std::string> upstream_id;  // the upstream's Mcp-Session-Id; none for a stateless upstream
  std::string protocol_version;            // what the upstream answered initialize with
  std::unordered_map<std::string, std::shared_ptr<Call>> calls;  // by jsonrpc::key_of(id)
  std::unordered_set<std::shared_ptr<Exchange>> open;            // every exchange under way
  std::shared_ptr<Exchange> listener;                            // the GET stream, when open
  std::string listen_last_event_id;
  int listen_reconnects = 0;
  bool closing = false;   // the session closed: its last messages go out, then the DELETE
  bool deleting = false;  // the DELETE is under way (or there is nothing to delete)
  net::steady_timer close_timer;   // bounds the wait for the last messages before the DELETE
  net::steady_timer listen_timer;  // reopens the GET stream
};

}  // namespace

struct UpstreamGateway::Impl {
  Impl(UpstreamGatewayOptions opts, Metrics& m)
      : options(std::move(opts)), url(parsed_url(options.url)), headers(parsed_headers(options.headers)), metrics(m),
        failures(options.unready_after_failures), work(net::make_work_guard(io)) {}

  static UpstreamUrl parsed_url(const std::string& text) {
    std::string why;
    return parse_upstream_url(text, why).value_or(UpstreamUrl{});
  }
  static std::vector<HeaderLine> parsed_headers(const std::vector<std::string>& lines) {
    std::vector<HeaderLine> out;
    std::string why;
    for (const auto& line : lines) {
      if (auto header = parse_header_line(line, why)) out.push_back(std::move(*header));
    }
    return out;
  }

  const UpstreamGatewayOptions options;
  const UpstreamUrl url;
  const std::vector<HeaderLine> headers;
  Metrics& metrics;
  FailureStreak failures;  // failed upstream contacts
  net::io_context io;
  net::executor_work_guard<net::io_context::executor_type> work;
  std::thread thread;  // runs `io`; joined by stop()

  mutable std::mutex mu;            // guards the fields below
  std::condition_variable released;  // notified when a link leaves `links`
  std::unordered_map<std::string, std::shared_ptr<Link>> links;  // by session id, until the DELETE is done
  bool stopped = false;

  // --- called from any thread -------------------------------------------------------------
  std::shared_ptr<Link> find(const std::string& session_id) const {
    std::lock_guard lock(mu);
    const auto it = links.find(session_id);
    return it == links.end() ? nullptr : it->second;
  }

  // --- I/O thread only --------------------------------------------------------------------
  std::shared_ptr<Exchange> begin(const std::shared_ptr<Link>& link, Purpose purpose, http::verb verb,
                                  std::string body, const std::string& last_event_id = {}) {
    auto ex = std::make_shared<Exchange>(io, link, purpose, options.max_message_bytes);
    auto& r = ex->request;
    r.method(verb);
    r.target(url.target);
    r.version(11);
    r.set(http::field::host, url.host_header);
    r.set(http::field::user_agent, "graceway");
    // One exchange, one connection: a request is never written to a pooled connection the
    // upstream may be closing, so no POST ever needs a blind retry.
    r.set(http::field::connection, "close");
    if (verb == http::verb::post) {
      r.set(http::field::content_type, "application/json");
      r.set(http::field::accept, "application/json, text/event-stream");
      r.body() = std::move(body);
    } else if (verb == http::verb::get) {
      r.set(http::field::accept, "text/event-stream");
    }
    if (link->upstream_id) r.set("Mcp-Session-Id", *link->upstream_id);
    if (!link->protocol_version.empty()) r.set("MCP-Protocol-Version", link->protocol_version);
    if (!last_event_id.empty()) r.set("Last-Event-ID", last_event_id);
    for (const auto& header : headers) r.set(header.name, header.value);
    r.prepare_payload();
    link->open.insert(ex);
    net::post(io, [this, ex] { resolve(ex); });
    return ex;
  }

  void resolve(const std::shared_ptr<Exchange>& ex) {
    if (ex->aborted) return;
    ex->resolve_timer.expires_after(options.connect_timeout);
    ex->resolve_timer.async_wait([ex](const error_code& ec) {
      if (!ec) ex->resolver.cancel();
    });
    ex->resolver.async_resolve(url.host, url.port, [this, ex](const error_code& ec, const tcp::resolver::results_type& found) {
      ex->resolve_timer.cancel();
      if (ec || ex->aborted) return broken(ex, ec ? ec : net::error::operation_aborted);
      // A DELETE is bounded as a whole; anything else by the connect timeout, then per read.
      ex->stream.expires_after(ex->purpose == Purpose::remove ? options.delete_timeout : options.connect_timeout);
      ex->stream.async_connect(found, [this, ex](const error_code& connect_ec, const tcp::endpoint&) {
        if (connect_ec) return broken(ex, connect_ec);
        ex->connected = true;
        error_code ignored;
        ex->stream.socket().set_option(tcp::no_delay(true), ignored);
        if (ex->purpose != Purpose::remove) ex->stream.expires_after(options.idle_timeout);
        http::async_write(ex->stream, ex->request, [this, ex](const error_code& write_ec, std::size_t) {
          if (write_ec) return broken(ex, write_ec);
          ex->parser.emplace();
          // SSE streams are unbounded; messages are bounded in take(). Not boost::none: Beast 1.74
          // compares a Content-Length against it as if none were the smallest limit.
          ex->parser->body_limit(std::numeric_limits<std::uint64_t>::max());
          http::async_read_header(ex->stream, ex->buffer, *ex->parser, [this, ex](const error_code& read_ec, std::size_t) {
            if (read_ec) return broken(ex, read_ec);
            on_head(ex);
          });
        });
      });
    });
  }

  void count_status(int status) {
    const auto index = static_cast<std::size_t>(status / 100 - 1);
    if (index < metrics.upstream_responses.size()) ++metrics.upstream_responses[index];
  }

  void on_head(const std::shared_ptr<Exchange>& ex) {
    if (ex->aborted) return;
    const auto& head = ex->parser->get();
    ex->status = static_cast<int>(head.result_int());
    count_status(ex->status);
    const auto type = lower(view(head[http::field::content_type]));
    ex->sse = type.starts_with("text/event-stream");
    const bool ok = ex->status / 100 == 2;
    if (ex->status >= 500) failures.failed("its MCP server answered a " + std::string(describe(ex->purpose)) + " with HTTP " +
                                           std::to_string(ex->status));
    else if (ok) failures.succeeded();
    auto& link = *ex->link;
    switch (ex->purpose) {
      case Purpose::remove: return upstream_deleted(ex, {});
      case Purpose::message:
        if (ex->status == 404 && link.upstream_id) return session_lost(ex);
        if (!ok) {
          log()->warn("session {}: its MCP server answered the client's {} with HTTP {}", link.session_id, ex->method,
                      ex->status);
        } else if (ex->opens_listener) {
          open_listener(ex->link);
        }
        return done(ex);
      case Purpose::listen:
        if (ok && ex->sse) {
          ex->stream.expires_never();  // a GET stream may rightly be silent for hours
          return read_body(ex);
        }
        if (ex->status == 404 && link.upstream_id) return session_lost(ex);
        if (ex->status == 405) {
          log()->debug("session {}: its MCP server offers no GET stream (405)", link.session_id);
        } else {
          log()->warn("session {}: its MCP server answered the GET stream with HTTP {}", link.session_id, ex->status);
        }
        return done(ex);  // an answer, not a broken stream: not reopened
      case Purpose::call:
      case Purpose::resume: break;
    }
    if (!ex->call) return done(ex);
    if (ex->status == 404 && link.upstream_id) return session_lost(ex);
    if (ok && ex->call->initialize) {
      const auto id = view(head["Mcp-Session-Id"]);
      if (!id.empty()) {
        if (!std::all_of(id.begin(), id.end(), [](char c) { return c >= 0x21 && c <= 0x7e; })) {
          return fail_call(ex, "it answered initialize with an unusable Mcp-Session-Id", {{"reason", "upstream_bad_session_id"}});
        }
        link.upstream_id = std::string(id);
        log()->debug("session {}: upstream session {}", link.session_id, *link.upstream_id);
      }
    }
    if (ok && !ex->sse && !type.starts_with("application/json")) {
      if (ex->status == 202) {
        return fail_call(ex, "it accepted the request without answering it", {{"reason", "upstream_no_answer"}});
      }
      return fail_call(ex, "it answered with Content-Type '" + type + "'", {{"reason", "upstream_bad_answer"}});
    }
    read_body(ex);
  }

  void read_body(const std::shared_ptr<Exchange>& ex) {
    if (ex->aborted) return;
    if (ex->sse && !relay_decoded(ex, true)) return;  // paused (a waiter resumes here) or aborted
    if (ex->parser->is_done()) return body_done(ex);
    auto& body = ex->parser->get().body();
    body.data = ex->chunk.data();
    body.size = ex->chunk.size();
    if (ex->purpose != Purpose::listen && ex->purpose != Purpose::remove) ex->stream.expires_after(options.idle_timeout);
    // read_some, not read: each event is relayed as it arrives, not once the chunk buffer is full.
    http::async_read_some(ex->stream, ex->buffer, *ex->parser, [this, ex](error_code ec, std::size_t) {
      if (ec == http::error::need_buffer) ec = {};
      const auto got = ex->chunk.size() - ex->parser->get().body().size;
      if (got > 0 && !ex->aborted) take(ex, std::string_view(ex->chunk.data(), got));
      if (ex->aborted) return;
      if (ec) {
        if (ex->sse) relay_decoded(ex, false);  // what came before the break still counts
        if (!ex->aborted) broken(ex, ec);
        return;
      }
      read_body(ex);
    });
  }

  // Relays the events decoded so far. Flow control: the upstream's stream is taken only as fast
  // as the client takes the relay; with `flow_control`, false when the client's stream is full
  // (its waiter calls read_body again) or the exchange was aborted.
  bool relay_decoded(const std::shared_ptr<Exchange>& ex, bool flow_control) {
    const auto waiter = [this, weak = std::weak_ptr<Exchange>(ex)] {
      net::post(io, [this, weak] {
        if (const auto e = weak.lock()) read_body(e);
      });
    };
    for (;;) {
      if (flow_control && ex->call && ex->call->reply->streams() && !ex->call->reply->has_room_or_call(waiter)) {
        return false;
      }
      auto event = ex->events.next();
      if (!event) break;
      on_event(ex, *event);
      if (ex->aborted) return false;
    }
    if (ex->events.oversized() != ex->oversized_seen) {
      ex->oversized_seen = ex->events.oversized();
      ++metrics.upstream_messages_undelivered;
      log()->warn("session {}: its MCP server sent an event over {} bytes; skipped", ex->link->session_id,
                  options.max_message_bytes);
    }
    return true;
  }

  void take(const std::shared_ptr<Exchange>& ex, std::string_view bytes) {
    if (ex->sse) return ex->events.feed(bytes);  // relayed by relay_decoded()
    const auto limit = ex->status / 100 == 2 ? options.max_message_bytes : kErrorBodyBytes;
    if (ex->body.size() + bytes.size() > limit) {
      if (ex->status / 100 != 2) return;  // enough of an error page
      return fail_call(ex, "its answer is over " + std::to_string(options.max_message_bytes) + " bytes",
                       {{"reason", "upstream_answer_too_large"}});
    }
    ex->body.append(bytes);
  }

  void on_event(const std::shared_ptr<Exchange>& ex, const sse::Event& event) {
    if (event.retry_ms) {
      ex->retry = std::min(std::chrono::milliseconds(static_cast<std::int64_t>(std::min<unsigned long long>(*event.retry_ms, 1U << 30U))),
                           kLongestRetry);
    }
    if (ex->purpose == Purpose::listen) {
      ex->link->listen_last_event_id = ex->events.last_event_id();
      ex->link->listen_reconnects = 0;
    } else if (ex->call) {
      ex->call->resumes_in_a_row = 0;
      if (!ex->events.last_event_id().empty()) ex->call->last_event_id = ex->events.last_event_id();
      if (ex->retry.count() > 0) ex->call->retry = ex->retry;
    }
    if (event.data.empty()) return;  // a priming event: an id to resume from, nothing to relay
    auto value = parse_server_message(event.data);
    if (value.is_discarded()) {
      ++metrics.upstream_messages_undelivered;
      log()->debug("session {}: an SSE event from its MCP server is not JSON; skipped", ex->link->session_id);
      return;
    }
    relay(ex, std::move(value));
  }

  // A message from the upstream, on the stream of `ex`.
  void relay(const std::shared_ptr<Exchange>& ex, json value) {
    if (value.is_array()) {
      for (auto& item : value) relay(ex, std::move(item));
      return;
    }
    auto& link = *ex->link;
    const auto message = jsonrpc::classify(value);
    switch (message.kind) {
      case jsonrpc::Kind::response:
      case jsonrpc::Kind::error_response: {
        const auto key = message.id ? jsonrpc::key_of(*message.id) : std::string();
        const auto it = link.calls.find(key);
        if (it == link.calls.end()) {
          ++metrics.late_results;
          log()->debug("session {}: a response from its MCP server answers nothing pending (id {}); dropped",
                       link.session_id, key.empty() ? "null" : key);
          return;
        }
        const auto call = it->second;  // a copy: settling erases the map entry
        return answer(ex->link, call, message, std::move(value));
      }
      case jsonrpc::Kind::notification:
        if (!deliver(ex, value)) ++metrics.upstream_messages_undelivered;
        return;
      case jsonrpc::Kind::request:
        if (deliver(ex, value)) return;
        // The server waits for an answer: one that no stream can carry is refused at once.
        ++metrics.upstream_messages_undelivered;
        send_message(ex->link, jsonrpc::make_error(message.id, -32603, "no client stream is open to carry this request"),
                     "error answer");
        return;
      case jsonrpc::Kind::invalid:
        ++metrics.upstream_messages_undelivered;
        log()->debug("session {}: an invalid JSON-RPC message from its MCP server skipped: {}", link.session_id,
                     message.detail);
        return;
    }
  }

  // Notifications and server requests stay on the stream they came on: a request's stream goes
  // to that request's client response, the GET stream to the client's GET stream.
  bool deliver(const std::shared_ptr<Exchange>& ex, const json& value) {
    if (ex->call) return ex->call->reply->push(value);
    const auto session = ex->link->session.lock();
    return session && session->notify(value);
  }

  void answer(const std::shared_ptr<Link>& link, const std::shared_ptr<Call>& call, const jsonrpc::Message& message,
              json value) {
    bool end = false;
    if (call->initialize) {
      const auto session = link->session.lock();
      const auto why = session ? accept_initialize(*session, message) : std::optional<std::string>("its session is gone");
      if (why) {
        log()->warn("session {}: {}", link->session_id, *why);
        failures.failed(*why);
        if (message.kind != jsonrpc::Kind::error_response) value = error_response(errc::server_failed, message.id, *why);
        end = true;
      } else {
        link->protocol_version = jsonrpc::string_member(message.result, "protocolVersion").value_or("");
      }
    }
    settle(*link, call, value);
    // The answer is the last thing its stream carries: its connection is done.
    if (const auto carrier = call->carrier.lock()) abort(carrier);
    if (end) end_session(*link);
  }

  // `call` must not refer into link.calls, which this erases from.
  void settle(Link& link, const std::shared_ptr<Call>& call, const json& value) {
    link.calls.erase(call->key);
    call->on_stop.reset();
    call->reply->complete(call->key, value);
    call->guard.release();
  }

  void fail_call(const std::shared_ptr<Exchange>& ex, const std::string& why, const json& data) {
    auto call = ex->call;
    // A request the upstream took (or may have) and graceway gives up on: it is told, so the
    // work does not run on for nobody. Cancellations go out before the connection is dropped.
    if (call && ex->link->calls.contains(call->key) && ex->connected && (ex->status == 0 || ex->status / 100 == 2)) {
      cancel_upstream(ex->link, *call, "graceway gave up waiting for its answer");
    }
    abort(ex);
    if (!call || !ex->link->calls.contains(call->key)) return;
    log()->warn("session {}: request {} failed: its MCP server {}", ex->link->session_id, call->key, why);
    settle(*ex->link, call, error_response(errc::server_failed, call->id, "it " + why, data));
    if (call->initialize) {
      if (ex->connected) failures.failed("the MCP server took no initialize: it " + why);  // else broken() counted it
      end_session(*ex->link);
    }
  }

  // The answer's body is all in.
  void body_done(const std::shared_ptr<Exchange>& ex) {
    const auto call = ex->call;
    if (ex->purpose == Purpose::listen) return listener_ended(ex);
    if (!call || !ex->link->calls.contains(call->key)) return done(ex);
    if (!ex->sse && ex->status / 100 == 2) {
      auto value = parse_server_message(ex->body);
      if (value.is_discarded()) return fail_call(ex, "answered with a body that is not JSON", {{"reason", "upstream_bad_answer"}});
      relay(ex, std::move(value));
    } else if (!ex->sse) {
      return refused(ex);
    }
    if (ex->link->calls.contains(call->key)) return stream_ended(ex);
    done(ex);
  }

  // A non-2xx answer to a request: the upstream's own JSON-RPC error when it sent one.
  void refused(const std::shared_ptr<Exchange>& ex) {
    auto value = parse_server_message(ex->body);
    const auto message = value.is_discarded() ? jsonrpc::Message{} : jsonrpc::classify(value);
    if (message.kind == jsonrpc::Kind::error_response && message.error.is_object()) {
      value["id"] = jsonrpc::to_json(ex->call->id);  // an HTTP-level error often carries id null
      const auto call = ex->call;
      log()->info("session {}: its MCP server refused request {} with HTTP {}: {}", ex->link->session_id, call->key,
                  ex->status, jsonrpc::serialize(message.error));
      done(ex);
      if (!ex->link->calls.contains(call->key)) return;
      if (call->initialize) failures.failed("its MCP server refused initialize with HTTP " + std::to_string(ex->status));
      settle(*ex->link, call, value);
      if (call->initialize) end_session(*ex->link);
      return;
    }
    fail_call(ex, "answered HTTP " + std::to_string(ex->status), {{"reason", "upstream_status"}, {"status", ex->status}});
  }

  // A request's stream ended before its answer: resume it if the upstream gave an event id.
  void stream_ended(const std::shared_ptr<Exchange>& ex) {
    const auto call = ex->call;
    auto link = ex->link;
    done(ex);
    if (!link->calls.contains(call->key)) return;
    const auto last = call->last_event_id;
    if (!ex->sse || last.empty() || link->closing || ++call->resumes_in_a_row > kMaxResumes) {
      log()->warn("session {}: request {} failed: its MCP server ended the stream without answering", link->session_id,
                  call->key);
      cancel_upstream(link, *call, "graceway gave up waiting for its answer");
      settle(*link, call,
             error_response(errc::server_failed, call->id, "it ended the response without answering",
                            {{"reason", "upstream_stream_ended"}}));
      if (call->initialize) end_session(*link);
      return;
    }
    const auto wait = call->retry.count() > 0 ? call->retry : kDefaultRetry;
    log()->debug("session {}: the upstream stream of request {} ended before its answer; resuming after event {} in {}",
                 link->session_id, call->key, last, format_duration(wait));
    auto timer = std::make_shared<net::steady_timer>(io, wait);
    timer->async_wait([this, timer, link, call, last](const error_code& ec) {
      if (ec || !link->calls.contains(call->key) || link->closing) return;
      ++metrics.upstream_stream_resumes;
      auto next = begin(link, Purpose::resume, http::verb::get, {}, last);
      next->call = call;
      call->carrier = next;
    });
  }

  // No answer: the upstream could not be reached, the connection broke, or a timeout struck.
  void broken(const std::shared_ptr<Exchange>& ex, const error_code& ec) {
    if (ex->aborted) return done(ex);
    ++metrics.upstream_failures;
    const auto detail = ec == beast::error::timeout ? std::string("no byte within the timeout") : ec.message();
    auto& link = *ex->link;
    if (!ex->connected) {
      failures.failed("cannot reach " + options.url + ": " + detail);
    }
    switch (ex->purpose) {
      case Purpose::remove: return upstream_deleted(ex, detail);
      case Purpose::message:
        log()->warn("session {}: the client's {} did not reach its MCP server: {}", link.session_id, ex->method, detail);
        return done(ex);
      case Purpose::listen: return listener_ended(ex);
      case Purpose::call:
      case Purpose::resume: break;
    }
    if (!ex->call) return done(ex);
    if (!ex->connected) {
      return fail_call(ex, "cannot be reached at " + options.url + ": " + detail, {{"reason", "upstream_unreachable"}});
    }
    if (ex->status != 0 && ex->sse) return stream_ended(ex);
    fail_call(ex, "broke the connection: " + detail, {{"reason", "upstream_connection_broke"}});
  }

  // Drops the exchange's connection; its handlers then only clean up.
  void abort(const std::shared_ptr<Exchange>& ex) {
    ex->aborted = true;
    ex->resolver.cancel();
    ex->resolve_timer.cancel();
    error_code ignored;
    ex->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    ex->stream.close();
    done(ex);
  }

  // The exchange is over: its connection closes; the session's DELETE may now go out.
  void done(const std::shared_ptr<Exchange>& ex) {
    auto link = ex->link;
    if (link->open.erase(ex) == 0) return;
    if (!ex->aborted) {
      ex->aborted = true;
      ex->stream.close();
    }
    if (link->listener == ex) link->listener.reset();
    maybe_delete(link);
  }

  // --- the standalone GET stream ------------------------------------------------------------
  void open_listener(const std::shared_ptr<Link>& link) {
    if (link->closing || link->listener) return;
    link->listener = begin(link, Purpose::listen, http::verb::get, {}, link->listen_last_event_id);
  }

  void listener_ended(const std::shared_ptr<Exchange>& ex) {
    auto link = ex->link;
    const auto wait = ex->retry.count() > 0 ? ex->retry : kDefaultRetry;
    done(ex);
    if (link->closing || ++link->listen_reconnects > kMaxListenReconnects) {
      if (!link->closing) {
        log()->warn("session {}: its MCP server's GET stream keeps ending; not reopened", link->session_id);
      }
      return;
    }
    link->listen_timer.expires_after(wait);
    link->listen_timer.async_wait([this, link](const error_code& ec) {
      if (!ec) open_listener(link);
    });
  }

  // --- client to upstream -------------------------------------------------------------------
  void forward(const std::shared_ptr<Link>& link, const jsonrpc::Message& request, const std::shared_ptr<Outbox>& reply,
               InFlightGuard guard, const std::stop_token& stop) {
    const auto key = jsonrpc::key_of(*request.id);
    if (link->closing) {
      reply->complete(key, error_response(errc::server_failed, request.id, "its session has closed"));
      return;
    }
    auto call = std::make_shared<Call>();
    call->id = *request.id;
    call->key = key;
    call->reply = reply;
    call->guard = std::move(guard);
    call->initialize = request.method == "initialize";
    link->calls[key] = call;
    auto ex = begin(link, Purpose::call, http::verb::post, jsonrpc::serialize(jsonrpc::encode(request)));
    ex->call = call;
    ex->method = request.method;
    call->carrier = ex;
    // Stopped by notifications/cancelled, the drain deadline, or a client that left.
    call->on_stop = std::make_unique<std::stop_callback<std::function<void()>>>(
        stop, std::function<void()>([this, weak = std::weak_ptr<Link>(link), key] {
          net::post(io, [this, weak, key] {
            if (const auto l = weak.lock()) call_stopped(l, key);
          });
        }));
  }

  void call_stopped(const std::shared_ptr<Link>& link, const std::string& key) {
    const auto it = link->calls.find(key);
    if (it == link->calls.end()) return;
    const auto call = it->second;
    const auto session = link->session.lock();
    const char* reason = !session || session->state() == SessionState::closed ? "the session's drain window ended"
                                                                               : "the client cancelled or left";
    settle(*link, call, error_response(errc::request_cancelled, call->id));
    // The cancellation is queued before the connection drops, so the session's DELETE (which
    // waits for every exchange) cannot overtake it.
    cancel_upstream(link, *call, reason);
    if (const auto carrier = call->carrier.lock()) abort(carrier);
    if (call->initialize) end_session(*link);  // a session whose initialize never finished cannot go on
  }

  // notifications/cancelled upstream for `call` (never for initialize, which is not cancelled).
  void cancel_upstream(const std::shared_ptr<Link>& link, const Call& call, const char* reason) {
    if (call.initialize || link->deleting) return;
    send_message(link, jsonrpc::make_notification("notifications/cancelled", {{"requestId", jsonrpc::to_json(call.id)}, {"reason", reason}}),
                 "notifications/cancelled");
    log()->debug("session {}: request {} stopped; its MCP server was sent notifications/cancelled ({})", link->session_id,
                 call.key, reason);
  }

  void send_message(const std::shared_ptr<Link>& link, const json& message, std::string method, bool opens_listener = false) {
    if (link->deleting) return;
    auto ex = begin(link, Purpose::message, http::verb::post, jsonrpc::serialize(message));
    ex->method = std::move(method);
    ex->opens_listener = opens_listener;
  }

  // --- the end of a session -----------------------------------------------------------------
  void end_session(const Link& link) {
    if (const auto session = link.session.lock()) session->begin_drain(EndReason::server_gone, std::chrono::milliseconds(0));
  }

  // The upstream says the session is gone: so is graceway's (the client re-initializes).
  void session_lost(const std::shared_ptr<Exchange>& ex) {
    auto link = ex->link;
    ++metrics.upstream_sessions_lost;
    log()->warn("session {}: its MCP server no longer knows its upstream session (HTTP 404); the session ends",
                link->session_id);
    link->upstream_id.reset();  // nothing left to DELETE
    if (ex->call) {
      fail_call(ex, "lost the session (HTTP 404)", {{"reason", "upstream_session_gone"}});
    } else {
      done(ex);
    }
    end_session(*link);
  }

  // The session closed: its requests have settled (the last ones cancelled at the deadline).
  // The messages still going out (those cancellations) go first, then the DELETE, bounded.
  void close_link(const std::shared_ptr<Link>& link) {
    if (std::exchange(link->closing, true)) return;
    link->listen_timer.cancel();
    if (link->listener) abort(link->listener);
    std::vector<std::string> left;
    for (const auto& [key, call] : link->calls) left.push_back(key);
    for (const auto& key : left) call_stopped(link, key);
    link->close_timer.expires_after(options.delete_timeout);
    link->close_timer.async_wait([this, link](const error_code& ec) {
      if (ec || link->deleting) return;
      log()->warn("session {}: messages to its MCP server still under way after {}; dropped for the DELETE",
                  link->session_id, format_duration(options.delete_timeout));
      abort_all(*link);
      start_delete(link);
    });
    maybe_delete(link);
  }

  void maybe_delete(const std::shared_ptr<Link>& link) {
    if (!link->closing || link->deleting) return;
    const auto busy = link->open.size() - (link->listener && link->open.contains(link->listener) ? 1 : 0);
    if (busy == 0) start_delete(link);
  }

  void start_delete(const std::shared_ptr<Link>& link) {
    link->deleting = true;
    link->close_timer.cancel();
    if (!link->upstream_id) return release(link);
    log()->debug("session {}: its requests have ended; DELETE of its upstream session sent", link->session_id);
    begin(link, Purpose::remove, http::verb::delete_, {});
  }

  void upstream_deleted(const std::shared_ptr<Exchange>& ex, const std::string& failure) {
    auto link = ex->link;
    if (!failure.empty()) {
      log()->warn("session {}: the DELETE of its upstream session failed: {}", link->session_id, failure);
    } else if (ex->status / 100 == 2 || ex->status == 404 || ex->status == 405) {
      log()->info("session {}: upstream session ended (DELETE answered {})", link->session_id, ex->status);
    } else {
      log()->warn("session {}: the DELETE of its upstream session was answered HTTP {}", link->session_id, ex->status);
    }
    abort(ex);
    release(link);
  }

  void abort_all(Link& link) {
    const auto open = link.open;  // abort() edits the set
    for (const auto& ex : open) abort(ex);
  }

  void release(const std::shared_ptr<Link>& link) {
    link->closing = true;  // a request or message posted from now on is refused at once
    link->deleting = true;
    link->close_timer.cancel();
    link->listen_timer.cancel();
    auto left = std::move(link->calls);  // only at stop(): answered, never left hanging
    link->calls.clear();
    for (const auto& [key, call] : left) {
      call->on_stop.reset();
      call->reply->complete(key, error_response(errc::server_draining, call->id));
      call->guard.release();
    }
    abort_all(*link);
    {
      std::lock_guard lock(mu);
      if (links.erase(link->session_id) == 0) return;
    }
    --metrics.upstream_sessions;
    released.notify_all();
  }
};

UpstreamGateway::UpstreamGateway(UpstreamGatewayOptions options, Metrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), metrics)) {}

UpstreamGateway::~UpstreamGateway() { stop(std::chrono::steady_clock::now()); }

std::chrono::milliseconds UpstreamGateway::stop_budget() const {
  return 2 * impl_->options.delete_timeout + std::chrono::seconds(1);
}

void UpstreamGateway::start() {
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

void UpstreamGateway::stop(std::chrono::steady_clock::time_point deadline) {
  auto& s = *impl_;
  {
    std::unique_lock lock(s.mu);
    if (std::exchange(s.stopped, true)) return;
    s.released.wait_until(lock, deadline, [&] { return s.links.empty(); });
  }
  if (!s.thread.joinable()) return;
  net::post(s.io, [&s] {
    std::vector<std::shared_ptr<Link>> left;
    {
      std::lock_guard lock(s.mu);
      for (auto& [id, link] : s.links) left.push_back(link);
    }
    for (auto& link : left) {
      if (link->upstream_id) {
        log()->warn("session {}: its upstream session is left to expire upstream (shutdown before its DELETE)",
                    link->session_id);
      }
      s.release(link);
    }
    s.work.reset();
    // Handlers queued before this one (a request posted at the last moment) run first, and find
    // their sessions closed; only then does the loop stop.
    net::post(s.io, [&s] { s.io.stop(); });
  });
  s.thread.join();
}

std::optional<mcp::MessageHandler::Refusal> UpstreamGateway::open_session(const std::shared_ptr<Session>& session) {
  auto& s = *impl_;
  std::lock_guard lock(s.mu);
  if (s.stopped) return Refusal{errc::server_draining, {}};
  s.links.emplace(session->id(), std::make_shared<Link>(s.io, session->id(), session));
  ++s.metrics.upstream_sessions;
  return std::nullopt;
}

void UpstreamGateway::session_changed(const std::string& id, SessionState /*from*/, SessionState to) {
  if (to != SessionState::closed) return;
  auto& s = *impl_;
  if (auto link = s.find(id)) net::post(s.io, [&s, link] { s.close_link(link); });
}

std::optional<std::string> UpstreamGateway::unready_reason() const {
  return impl_->failures.unready_reason("failed contacts with the upstream MCP server");
}

void UpstreamGateway::handle_request(const std::shared_ptr<Session>& session, const jsonrpc::Message& request,
                                     const std::shared_ptr<Outbox>& reply, InFlightGuard guard, std::stop_token stop) {
  auto& s = *impl_;
  auto link = s.find(session->id());
  if (!link) {
    reply->complete(jsonrpc::key_of(*request.id), error_response(errc::server_failed, request.id, "its session is gone"));
    return;
  }
  net::post(s.io, [&s, link, message = request, reply, guard = std::move(guard), stop = std::move(stop)]() mutable {
    s.forward(link, message, reply, std::move(guard), stop);
  });
}

void UpstreamGateway::handle_notification(Session& session, const jsonrpc::Message& notification) {
  session.touch();
  if (absorb_cancellation(session, notification)) return;
  const bool initialized = notification.method == "notifications/initialized";
  if (initialized) session.mark_initialized();
  auto& s = *impl_;
  auto link = s.find(session.id());
  if (!link) return;
  net::post(s.io, [&s, link, message = jsonrpc::encode(notification), method = notification.method, initialized] {
    s.send_message(link, message, method, initialized);
  });
}

void UpstreamGateway::handle_response(Session& session, const jsonrpc::Message& response) {
  session.touch();
  auto& s = *impl_;
  auto link = s.find(session.id());
  if (!link) return;
  net::post(s.io, [&s, link, message = jsonrpc::encode(response)] { s.send_message(link, message, "answer"); });
}

}  // namespace gateway
}  // namespace graceway
