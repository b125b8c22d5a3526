#include "transport/http_server.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http.hpp>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include "graceway/logging.hpp"
#include "transport/http_headers.hpp"
#include "transport/mcp_endpoint.hpp"
#include "transport/reply_stream.hpp"
#include "transport/sse.hpp"

namespace graceway {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;  // graceway::http holds our header parsing
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;

std::shared_ptr<spdlog::logger> log() {
  static const auto logger = logging::get("graceway.http");
  return logger;
}

std::string_view to_std(beast::string_view s) { return {s.data(), s.size()}; }
beast::string_view to_beast(std::string_view s) { return {s.data(), s.size()}; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// How much one read asks of the socket. Requests are small; a large body takes several reads.
constexpr std::size_t kReadChunk = std::size_t{16} * 1024;
// How long a closing connection keeps reading (and discarding) after its last response, so
// that unread request bytes do not turn our close into a reset that destroys that response.
constexpr std::chrono::milliseconds kCloseLinger{500};
// The back-off when accept fails for lack of descriptors or memory.
constexpr std::chrono::milliseconds kAcceptBackoff{100};
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace

namespace detail {

// A connection as its worker's list sees it.
class ConnectionBase {
public:
  ConnectionBase() = default;
  ConnectionBase(const ConnectionBase&) = delete;
  ConnectionBase& operator=(const ConnectionBase&) = delete;
  virtual ~ConnectionBase() = default;
  virtual void stop() = 0;  // the server stops: close, politely when idle
};

// One I/O thread: an event loop of its own and the connections that live on it.
struct Worker {
  std::unordered_set<ConnectionBase*> connections;  // I/O thread only; declared first, so it outlives the handlers `ioc` destroys
  net::io_context ioc{1};  // one thread: the scheduler's single-threaded fast paths
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work{ioc.get_executor()};
  std::thread thread;  // joined by HttpServer::stop()
};

struct HttpServerImpl {
  HttpServerImpl(const HttpOptions& o, const ServerConfig& c, McpEndpoint& e, Metrics& m)
      : options(o), config(c), endpoint(e), metrics(m) {
    const auto n = std::max<std::size_t>(1, options.resolved_io_threads());
    for (std::size_t i = 0; i < n; ++i) workers.push_back(std::make_unique<Worker>());
    acceptor.emplace(workers.front()->ioc);
    accept_backoff.emplace(workers.front()->ioc);
  }

  std::error_code bind();
  std::error_code load_tls();
  void do_accept();
  void on_accept(const error_code& ec, tcp::socket socket, Worker& worker);
  void start_connection(Worker& worker, tcp::socket socket, bool over_limit);
  void stream_opened();
  void stream_closed();

  const HttpOptions& options;
  const ServerConfig& config;
  McpEndpoint& endpoint;
  Metrics& metrics;

  // Declared before `workers`: the connections that the workers' event loops destroy last use them.
  std::optional<ssl::context> tls;               // set by bind(); read-only afterwards
  std::atomic<bool> draining{false};
  std::atomic<std::size_t> connections{0};       // open connections, all workers
  std::mutex streams_mu;                         // guards streams
  std::condition_variable streams_cv;
  std::size_t streams = 0;                       // response streams being written

  std::vector<std::unique_ptr<Worker>> workers;  // fixed after construction
  // Declared after `workers`: I/O objects go before the event loop they belong to.
  std::optional<tcp::acceptor> acceptor;         // worker 0's thread only, once started
  std::optional<net::steady_timer> accept_backoff;  // worker 0's thread only
  std::size_t next_worker = 0;                   // worker 0's thread only
  std::uint16_t port = 0;                        // written by bind() before start()
  bool started = false;                          // the caller's thread only (start/stop)
  bool stopped = false;                          // the caller's thread only (start/stop)
};

}  // namespace detail

namespace {

using detail::ConnectionBase;
using detail::Worker;

// One connection, on one worker for its whole life; every member is touched only on that
// worker's thread. `Stream` is tcp::socket, or ssl::stream<tcp::socket> for TLS. Phases:
//   handshake -> idle -> head -> body -> (writing | streaming) -> idle ... -> closing -> closed
// Each phase that waits on the client has one deadline (`deadline_`); reads and writes never
// overlap except while streaming, when a read watches for the client leaving. A lazy stream
// (ReplyStream::Format::lazy) streams with no head and no deadline until it settles.
template <class Stream>
class Connection final : public ConnectionBase, public std::enable_shared_from_this<Connection<Stream>> {
public:
  Connection(detail::HttpServerImpl& server, Worker& worker, Stream stream, bool over_limit)
      : server_(server), worker_(worker), stream_(std::move(stream)), deadline_(worker.ioc), ping_(worker.ioc),
        over_limit_(over_limit) {
    ++server_.metrics.http_connections_open;
    error_code ec;
    const auto peer = beast::get_lowest_layer(stream_).remote_endpoint(ec);
    if (!ec) {
      peer_ = peer.address().to_string();
      remote_ = peer_ + ":" + std::to_string(peer.port());
    }
  }

  ~Connection() override {
    worker_.connections.erase(this);
    release_slot();
  }

  void start() {
    worker_.connections.insert(this);
    if constexpr (kTls) {
      state_ = State::handshake;
      arm(server_.options.header_timeout);
      stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](const error_code& ec) {
        self->on_handshake(ec);
      });
    } else {
      on_handshake({});
    }
  }

  // The drain is over: an idle connection closes politely (nothing of ours is lost with it), the
  // rest at once.
  void stop() override {
    if (state_ == State::idle && !reading_request_bytes()) {
      // Nothing of the client's is unread: our FIN cannot turn into a reset, so no linger (the
      // exit does not wait for clients that keep idle connections open).
      error_code ignored;
      beast::get_lowest_layer(stream_).shutdown(tcp::socket::shutdown_send, ignored);
      return close_now();
    }
    if (state_ == State::idle) return graceful_close();
    close_now();
  }

private:
  static constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;
  // answering: the request is whole and its answer waits on the endpoint (authentication)
  enum class State { handshake, idle, head, body, answering, writing, streaming, closing, closed };

  // True when the client has sent bytes we have not parsed: in our buffer or the kernel's.
  bool reading_request_bytes() {
    error_code ec;
    const auto waiting = beast::get_lowest_layer(stream_).available(ec);
    return buffer_.size() > 0 || ec || waiting > 0;
  }

  // --- deadlines --------------------------------------------------------------------------
  void arm(std::chrono::milliseconds timeout) {
    deadline_.expires_after(timeout);
    deadline_.async_wait([self = this->shared_from_this(), generation = ++deadline_generation_](const error_code& ec) {
      if (!ec && generation == self->deadline_generation_) self->on_deadline();
    });
  }
  void disarm() {
    ++deadline_generation_;
    deadline_.cancel();
  }
  void on_deadline() {
    switch (state_) {
      case State::idle: return graceful_close();  // keep-alive timeout
      case State::answering: return answer(false);  // waited long enough: decide without the network
      case State::handshake:
      case State::head:
      case State::body:
        ++server_.metrics.http_request_timeouts;
        log()->debug("{}: request not received within its deadline ({}); closing", remote_,
                     state_ == State::body ? "--http-body-timeout" : "--http-header-timeout");
        return close_now();
      case State::writing:
      case State::streaming:
        ++server_.metrics.http_write_timeouts;
        log()->debug("{}: client took no data for --http-write-timeout; closing", remote_);
        return close_now();
      case State::closing:
      case State::closed: return close_now();
    }
  }

  // --- reading ----------------------------------------------------------------------------
  void on_handshake(const error_code& ec) {
    if (ec) {
      log()->debug("{}: TLS handshake failed: {}", remote_, ec.message());
      return close_now();
    }
    if (over_limit_) {
      // Beyond --max-connections: answered at once, then closed.
      ++server_.metrics.http_connections_rejected;
      keep_alive_ = false;
      return write_full(server_.endpoint.refusal(errc::server_overloaded), 11);
    }
    next_request();
  }

  void next_request() {
    state_ = State::idle;
    parser_.reset();
    if (buffer_.size() > 0) {  // a pipelined request is already here
      begin_request();
      return parse();
    }
    arm(server_.options.keepalive_timeout);
    read_some();
  }

  void read_some() {
    if (reading_ || state_ == State::closed) return;
    reading_ = true;
    stream_.async_read_some(buffer_.prepare(kReadChunk),
                            [self = this->shared_from_this()](const error_code& ec, std::size_t n) { self->on_read(ec, n); });
  }

  void on_read(const error_code& ec, std::size_t n) {
    reading_ = false;
    if (state_ == State::closed) return;
    if (ec == net::error::eof && state_ == State::writing) {
      keep_alive_ = false;  // the client finished sending (a half-close); it still gets this answer
      return;
    }
    if (ec) return peer_gone(ec);
    buffer_.commit(n);
    switch (state_) {
      case State::idle:
        begin_request();
        [[fallthrough]];
      case State::head:
      case State::body:
        return parse();
      case State::streaming:
        // The client pipelined its next request; it waits until the stream ends. Keep watching
        // for the client leaving while the buffer has room.
        if (buffer_.size() < server_.options.max_header_bytes) read_some();
        return;
      case State::closing:
        buffer_.consume(buffer_.size());  // discarded: the connection is closing
        return read_some();
      case State::handshake:
      case State::answering:
      case State::writing:
      case State::closed: return;
    }
  }

  // The client closed or reset the connection.
  void peer_gone(const error_code& ec) {
    if (state_ == State::streaming) {
      stream_failed();
      // After the close: whoever waits for this line finds the connection's slot free.
      log()->debug("{}: client left a response stream ({})", remote_, ec.message());
      return;
    }
    if ((state_ == State::head || state_ == State::body) && ec != net::error::eof) {
      log()->debug("{}: connection lost mid-request: {}", remote_, ec.message());
    }
    close_now();
  }

  void begin_request() {
    state_ = State::head;
    header_checked_ = false;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(server_.options.max_header_bytes, UINT32_MAX)));
    parser_->body_limit(static_cast<std::uint64_t>(server_.config.max_body_bytes));
    parser_->eager(true);
    arm(server_.options.header_timeout);
  }

  void parse() {
    while (buffer_.size() > 0) {
      error_code ec;
      const auto used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == bhttp::error::need_more) break;
      if (ec) return refuse_unparsable(ec);
      if (!header_checked_ && parser_->is_header_done() && !on_header()) return;
      if (parser_->is_done()) return on_request();
      if (used == 0) break;
    }
    if (!header_checked_ && parser_->is_header_done() && !on_header()) return;
    if (parser_->is_done()) return on_request();
    read_some();
  }

  // The head is in: refuse framings a proxy in front of us could read differently (request
  // smuggling) before any body byte is taken; answer Expect: 100-continue.
  bool on_header() {
    header_checked_ = true;
    state_ = State::body;
    arm(server_.options.body_timeout);
    const auto& req = parser_->get();
    if (const auto te = req.count(bhttp::field::transfer_encoding); te > 0) {
      if (te > 1 || !graceway::http::iequals(trim(to_std(req[bhttp::field::transfer_encoding])), "chunked")) {
        refuse_and_close(errc::unsupported_framing, {});
        return false;
      }
      if (req.version() < 11) {
        refuse_and_close(errc::invalid_request, "chunked framing needs HTTP/1.1");
        return false;
      }
      if (req.count(bhttp::field::content_length) > 0) {
        refuse_and_close(errc::invalid_request, "both Content-Length and Transfer-Encoding");
        return false;
      }
    }
    if (const auto expect = req.find(bhttp::field::expect); expect != req.end()) {
      if (!graceway::http::iequals(trim(to_std(expect->value())), "100-continue")) {
        refuse_and_close(errc::expectation_failed, {});
        return false;
      }
      if (req.version() >= 11 && !parser_->is_done()) write_continue();
    }
    return true;
  }

  void refuse_unparsable(const error_code& ec) {
    if (ec == bhttp::error::header_limit) return refuse_and_close(errc::header_too_large, {});
    if (ec == bhttp::error::body_limit) return refuse_and_close(errc::payload_too_large, {});
    log()->debug("{}: unparsable request: {}", remote_, ec.message());
    refuse_and_close(errc::invalid_request, ec.message());
  }

  void refuse_and_close(errc e, std::string_view detail) {
    if (writing_) {  // after the 100 Continue on its way
      after_continue_ = [this, e, why = std::string(detail)] { refuse_and_close(e, why); };
      return;
    }
    keep_alive_ = false;
    const unsigned version = parser_ && parser_->is_header_done() ? parser_->get().version() : 11;
    write_full(server_.endpoint.refusal(e, detail), version);
  }

  void write_continue() {
    writing_ = true;
    net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                     [self = this->shared_from_this()](const error_code& ec, std::size_t) {
                       self->writing_ = false;
                       if (ec) return self->close_now();
                       if (self->after_continue_) std::exchange(self->after_continue_, nullptr)();
                     });
  }

  // --- answering --------------------------------------------------------------------------
  void on_request() {
    if (writing_) {  // the 100 Continue is still on its way: the answer goes after it
      after_continue_ = [this] { on_request(); };
      return;
    }
    disarm();
    ++requests_;
    const auto& req = parser_->get();
    // HEAD is answered like any unserved verb, with a body: close after it, so no client reads
    // that body as the next response.
    keep_alive_ = req.keep_alive() && req.method() != bhttp::verb::head && !server_.draining.load() &&
                  requests_ < server_.options.keepalive_requests;
    // Several X-Forwarded-For headers are one list (RFC 9110 section 5.3).
    forwarded_for_.clear();
    const auto [first, last] = req.equal_range("X-Forwarded-For");
    for (auto it = first; it != last; ++it) {
      if (!forwarded_for_.empty()) forwarded_for_.append(", ");
      forwarded_for_.append(it->value().data(), it->value().size());
    }
    answer(true);
  }

  // Hands the request to the endpoint. `may_wait`: the endpoint may answer pending, and wakes us
  // (any thread) to ask again; the second time it must decide.
  void answer(bool may_wait) {
    if (state_ == State::closed) return;
    const auto& req = parser_->get();
    const auto target = to_std(req.target());
    const auto question = target.find('?');
    auto find = [&req](bhttp::field f) -> std::optional<std::string_view> {
      const auto it = req.find(f);
      if (it == req.end()) return std::nullopt;
      return to_std(it->value());
    };
    auto find_named = [&req](std::string_view name) -> std::optional<std::string_view> {
      const auto it = req.find(to_beast(name));
      if (it == req.end()) return std::nullopt;
      return to_std(it->value());
    };
    std::function<void()> wake;
    if (may_wait) {
      // Tagged with the request it belongs to: a late wake of an earlier request (answered at
      // its deadline) must not decide the next one on the connection.
      wake = [weak = this->weak_from_this(), executor = worker_.ioc.get_executor(), request = requests_] {
        net::post(executor, [weak, request] {
          if (const auto self = weak.lock(); self && self->state_ == State::answering && self->requests_ == request) {
            self->disarm();
            self->answer(false);
          }
        });
      };
    }
    const HttpRequest request{
        .method = to_std(req.method_string()),
        .path = target.substr(0, question),
        .query = question == std::string_view::npos ? std::string_view{} : target.substr(question + 1),
        .headers = {.content_type = find(bhttp::field::content_type),
                    .accept = find(bhttp::field::accept),
                    .origin = find(bhttp::field::origin),
                    .host = find(bhttp::field::host),
                    .protocol_version = find_named("MCP-Protocol-Version"),
                    .session_id = find_named("Mcp-Session-Id"),
                    .last_event_id = find_named("Last-Event-ID"),
                    .authorization = find(bhttp::field::authorization),
                    .authorization_repeated = req.count(bhttp::field::authorization) > 1,
                    .api_key = find_named("X-API-Key"),
                    .forwarded_for = forwarded_for_.empty() ? std::nullopt : std::optional<std::string_view>(forwarded_for_),
                    .cors_request_method = find(bhttp::field::access_control_request_method),
                    .cors_request_headers = find(bhttp::field::access_control_request_headers),
                    .mcp_method = find_named("Mcp-Method"),
                    .mcp_name = find_named("Mcp-Name"),
                    .routing_header_repeated = req.count(to_beast("MCP-Protocol-Version")) > 1 ||
                                               req.count(to_beast("Mcp-Method")) > 1 ||
                                               req.count(to_beast("Mcp-Name")) > 1,
                    .mcp_params = mcp_params(req)},
        .body = req.body(),
        .remote = remote_,
        .peer = peer_,
        .wake = std::move(wake)};
    const unsigned version = req.version();
    auto answer = server_.endpoint.handle(request);
    if (answer.pending) {
      // Bounded: if the wake has not come by then, the endpoint decides without it.
      state_ = State::answering;
      arm(server_.options.header_timeout);
      return;
    }
    if (answer.close_connection) keep_alive_ = false;
    if (answer.stream) return start_stream(std::move(answer), version);
    write_full(std::move(answer), version);
  }

  // Every Mcp-Param-<name> header of `req`: <name> as sent, and the value (views into the parser).
  static std::vector<std::pair<std::string_view, std::string_view>> mcp_params(
      const bhttp::request<bhttp::string_body>& req) {
    static constexpr std::string_view kPrefix = "Mcp-Param-";
    std::vector<std::pair<std::string_view, std::string_view>> params;
    for (const auto& field : req) {
      const auto name = to_std(field.name_string());
      if (name.size() >= kPrefix.size() && graceway::http::iequals(name.substr(0, kPrefix.size()), kPrefix)) {
        params.emplace_back(name.substr(kPrefix.size()), to_std(field.value()));
      }
    }
    return params;
  }

  template <class Message>
  void set_head(Message& message, HttpAnswer& answer, unsigned version) {
    message.version(version >= 11 ? 11 : 10);
    message.result(static_cast<unsigned>(answer.status));
    for (auto& [name, value] : answer.headers) message.set(to_beast(name), value);
    if (!answer.content_type.empty()) message.set(bhttp::field::content_type, answer.content_type);
    // Read here, not when the request came in: a shutdown that began meanwhile closes too.
    if (server_.draining.load()) keep_alive_ = false;
    message.keep_alive(keep_alive_);
  }

  void write_full(HttpAnswer answer, unsigned version) {
    parser_.reset();  // the request is answered; pipelined bytes stay in buffer_
    response_.emplace();
    set_head(*response_, answer, version);
    response_->body() = std::move(answer.body);
    response_->prepare_payload();
    state_ = State::writing;
    writing_ = true;
    arm(server_.options.write_timeout);
    bhttp::async_write(stream_, *response_, [self = this->shared_from_this()](const error_code& ec, std::size_t) {
      self->on_written(ec);
    });
  }

  void on_written(const error_code& ec) {
    writing_ = false;
    if (state_ == State::closed) return;
    disarm();
    response_.reset();
    if (ec) return close_now();
    if (!keep_alive_) return graceful_close();
    next_request();
  }

  // --- streams ----------------------------------------------------------------------------
  void start_stream(HttpAnswer answer, unsigned version) {
    parser_.reset();
    reply_ = std::move(answer.stream);
    on_stream_end_ = std::move(answer.on_stream_end);
    server_.stream_opened();
    state_ = State::streaming;
    // Producers run on other threads; they only post a pump() here.
    reply_->set_waker([weak = this->weak_from_this(), executor = worker_.ioc.get_executor()] {
      net::post(executor, [weak] {
        if (const auto self = weak.lock()) self->pump();
      });
    });
    read_some();  // watches for the client leaving (for an undecided answer, that cancels it)
    if (reply_->format() == ReplyStream::Format::lazy) {
      // Neither the status nor the framing is known until the handler pushes or answers: the
      // head waits, and so does any deadline (a tool may run long with nothing to send).
      held_answer_.emplace();
      held_answer_->status = answer.status;
      held_answer_->headers = std::move(answer.headers);
      held_version_ = version;
      return pump();
    }
    write_stream_head(answer, version, reply_->format() == ReplyStream::Format::sse);
  }

  // Writes the head of a chunked (HTTP/1.0: close-delimited) stream; its completion pumps the
  // stream. `sse`: keep-alive comments from now on.
  void write_stream_head(HttpAnswer& answer, unsigned version, bool sse) {
    // HTTP/1.0 has no chunked encoding: the body runs until the connection closes.
    chunked_ = version >= 11;
    if (!chunked_) keep_alive_ = false;
    stream_head_.emplace();
    set_head(*stream_head_, answer, version);
    stream_head_->chunked(chunked_);
    head_serializer_.emplace(*stream_head_);
    writing_ = true;
    arm(server_.options.write_timeout);
    bhttp::async_write_header(stream_, *head_serializer_,
                             [self = this->shared_from_this()](const error_code& ec, std::size_t) { self->on_chunk_written(ec); });
    if (sse && server_.config.keepalive_interval.count() > 0) arm_ping();
  }

  // A lazy answer has settled and `out_` holds its first output: the head it needs, then that.
  void write_settled(const ReplyStream::Head& head) {
    auto answer = std::move(*held_answer_);
    held_answer_.reset();
    if (head.format == ReplyStream::Format::json) {
      // One body, with its length: the connection goes on as after any whole answer.
      answer.status = head.status;
      answer.content_type = "application/json";
      response_.emplace();
      set_head(*response_, answer, held_version_);
      response_->body() = std::move(out_);
      response_->prepare_payload();
      last_chunk_ = true;  // take_body() has drained the stream: nothing follows
      writing_ = true;
      arm(server_.options.write_timeout);
      return bhttp::async_write(stream_, *response_, [self = this->shared_from_this()](const error_code& ec, std::size_t) {
        self->response_.reset();
        self->on_chunk_written(ec);
      });
    }
    answer.status = 200;
    answer.content_type = "text/event-stream";
    answer.set_header("Cache-Control", "no-cache");
    answer.set_header("X-Accel-Buffering", "no");  // nginx: do not buffer the stream
    // The events taken wait in out_ until the head is out (on_chunk_written sees first_chunk_).
    first_chunk_ = true;
    write_stream_head(answer, held_version_, true);
  }

  void pump() {
    if (state_ != State::streaming || writing_ || !reply_) return;
    out_.clear();
    switch (reply_->take(out_)) {
      case ReplyStream::Next::idle: return;  // the waker calls again
      case ReplyStream::Next::data:
        if (held_answer_) {
          // take() only gives data once the stream has settled.
          if (const auto head = reply_->settled()) return write_settled(*head);
          return stream_failed();  // not reached; without a head there is nothing valid to write
        }
        return write_chunk();
      case ReplyStream::Next::end:
        if (reply_->gone()) return stream_failed();  // a resume took the stream over elsewhere
        if (held_answer_) {
          // Ended undecided (abandoned): there is no answer to give, so the client learns it
          // from the connection closing.
          finish_stream();
          return graceful_close();
        }
        last_chunk_ = true;
        if (!chunked_) return on_chunk_written({});
        writing_ = true;
        arm(server_.options.write_timeout);
        return net::async_write(stream_, bhttp::make_chunk_last(),
                                [self = this->shared_from_this()](const error_code& ec, std::size_t) {
                                  self->on_chunk_written(ec);
                                });
    }
  }

  void write_chunk() {
    writing_ = true;
    arm(server_.options.write_timeout);
    auto done = [self = this->shared_from_this()](const error_code& ec, std::size_t) { self->on_chunk_written(ec); };
    if (chunked_) return net::async_write(stream_, bhttp::make_chunk(net::buffer(out_)), std::move(done));
    net::async_write(stream_, net::buffer(out_), std::move(done));
  }

  void on_chunk_written(const error_code& ec) {
    writing_ = false;
    if (state_ != State::streaming) return;
    disarm();
    if (ec) {
      log()->debug("{}: writing a response stream failed: {}", remote_, ec.message());
      return stream_failed();
    }
    last_write_ = std::chrono::steady_clock::now();
    if (std::exchange(first_chunk_, false)) return write_chunk();  // a settled lazy stream's first events
    if (!last_chunk_) return pump();
    last_chunk_ = false;
    finish_stream();
    if (!keep_alive_) return graceful_close();
    next_request();
  }

  void arm_ping() {
    ping_.expires_after(server_.config.keepalive_interval);
    ping_.async_wait([self = this->shared_from_this()](const error_code& ec) {
      if (ec || self->state_ != State::streaming) return;
      if (!self->writing_ &&
          std::chrono::steady_clock::now() - self->last_write_ >= self->server_.config.keepalive_interval) {
        static const std::string comment = sse::comment("keepalive");
        self->out_ = comment;
        self->write_chunk();
      }
      self->arm_ping();
    });
  }

  // The stream is over on this connection: the endpoint's end callback, the counters.
  void finish_stream() {
    if (!reply_) return;
    held_answer_.reset();
    first_chunk_ = false;
    ping_.cancel();
    reply_->set_waker({});
    if (on_stream_end_) std::exchange(on_stream_end_, nullptr)();
    reply_.reset();
    // head_serializer_ and stream_head_ stay: a head write may still be in flight (the client
    // left while it was written), and its completion reads them. The next stream replaces them;
    // the connection, which every handler keeps alive, frees them last.
    server_.stream_closed();
  }

  void stream_failed() {
    if (reply_) reply_->mark_gone();
    finish_stream();
    close_now();
  }

  // --- closing ----------------------------------------------------------------------------
  // Sends our FIN (or TLS close_notify) first and reads until the client closes too, at most
  // kCloseLinger: closing with unread bytes would reset the connection and could destroy the
  // last response before the client has read it.
  void graceful_close() {
    if (state_ == State::closing || state_ == State::closed) return;
    if (reply_) return stream_failed();
    state_ = State::closing;
    release_slot();
    arm(kCloseLinger);
    if constexpr (kTls) {
      if (reading_) return;  // the pending read ends with the peer's close, or the linger deadline
      stream_.async_shutdown([self = this->shared_from_this()](const error_code&) { self->close_now(); });
    } else {
      error_code ignored;
      stream_.shutdown(tcp::socket::shutdown_send, ignored);
      read_some();
    }
  }

  // A closed connection no longer counts against --max-connections, even while handlers that
  // still hold it finish.
  void release_slot() {
    if (std::exchange(slot_released_, true)) return;
    --server_.connections;
    --server_.metrics.http_connections_open;
  }

  void close_now() {
    if (state_ == State::closed) return;
    release_slot();
    if (reply_) {
      reply_->mark_gone();
      finish_stream();
    }
    state_ = State::closed;
    disarm();
    ping_.cancel();
    error_code ignored;
    beast::get_lowest_layer(stream_).close(ignored);
  }

  detail::HttpServerImpl& server_;
  Worker& worker_;
  Stream stream_;
  net::steady_timer deadline_;  // the one deadline of the current phase
  net::steady_timer ping_;      // SSE keep-alive comments while streaming
  std::uint64_t deadline_generation_ = 0;  // a deadline fires only for the phase that armed it
  const bool over_limit_;
  bool slot_released_ = false;
  std::string remote_ = "?";
  std::string peer_;            // the peer's address alone
  std::string forwarded_for_;   // the current request's X-Forwarded-For headers, joined

  State state_ = State::idle;
  bool reading_ = false;        // an async_read_some is pending
  bool writing_ = false;        // a write is pending
  bool header_checked_ = false;
  std::function<void()> after_continue_;  // what waits for the 100 Continue to be written
  bool keep_alive_ = true;      // the current answer leaves the connection open
  std::size_t requests_ = 0;
  beast::flat_buffer buffer_;   // bytes read and not parsed yet
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;  // new for every request
  std::optional<bhttp::response<bhttp::string_body>> response_;      // a whole answer being written

  // While streaming
  std::shared_ptr<ReplyStream> reply_;
  std::function<void()> on_stream_end_;
  std::optional<bhttp::response<bhttp::empty_body>> stream_head_;
  std::optional<bhttp::response_serializer<bhttp::empty_body>> head_serializer_;
  std::string out_;             // the chunk being written
  bool chunked_ = true;
  bool last_chunk_ = false;     // the chunk being written ends the stream
  // A lazy answer not settled yet: the head it will be written with (status, CORS and the rest).
  std::optional<HttpAnswer> held_answer_;
  unsigned held_version_ = 11;
  bool first_chunk_ = false;    // out_ waits for the stream head being written
  std::chrono::steady_clock::time_point last_write_ = std::chrono::steady_clock::now();
};

}  // namespace

std::error_code detail::HttpServerImpl::load_tls() {
  auto fail = [](const char* flag, const std::string& file, const std::string& why) {
    log()->error("{} {}: {}", flag, file, why);
    return std::make_error_code(std::errc::invalid_argument);
  };
  for (const auto& [flag, file] : {std::pair{"--tls-cert", options.tls_cert_file}, std::pair{"--tls-key", options.tls_key_file}}) {
    std::error_code fs;
    if (!std::filesystem::is_regular_file(file, fs)) return fail(flag, file, "no such file");
  }
  tls.emplace(ssl::context::tls_server);
  tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  error_code ec;
  tls->use_certificate_chain_file(options.tls_cert_file, ec);
  if (ec) return fail("--tls-cert", options.tls_cert_file, "not a PEM certificate (" + ec.message() + ")");
  tls->use_private_key_file(options.tls_key_file, ssl::context::pem, ec);
  if (ec) return fail("--tls-key", options.tls_key_file, "not a PEM private key (" + ec.message() + ")");
  if (SSL_CTX_check_private_key(tls->native_handle()) != 1) {
    return fail("--tls-key", options.tls_key_file, "does not match the certificate of --tls-cert");
  }
  return {};
}

std::error_code detail::HttpServerImpl::bind() {
  if (!options.tls_cert_file.empty()) {
    if (auto ec = load_tls()) return ec;
  }
  error_code ec;
  auto address = net::ip::make_address(config.host, ec);
  if (ec) {
    // A name such as localhost: its first address.
    tcp::resolver resolver(workers.front()->ioc);
    const auto found = resolver.resolve(config.host, "", ec);
    if (ec || found.empty()) return std::make_error_code(std::errc::address_not_available);
    address = found.begin()->endpoint().address();
  }
  const tcp::endpoint where(address, config.port);
  acceptor->open(where.protocol(), ec);
  if (!ec) acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(where, ec);
  if (!ec) acceptor->listen(options.listen_backlog, ec);
  if (ec) return {ec.value(), std::generic_category()};
  port = acceptor->local_endpoint().port();
  return {};
}

void detail::HttpServerImpl::do_accept() {
  Worker& target = *workers[next_worker];
  next_worker = (next_worker + 1) % workers.size();
  acceptor->async_accept(target.ioc, [this, &target](const error_code& ec, tcp::socket socket) {
    on_accept(ec, std::move(socket), target);
  });
}

void detail::HttpServerImpl::on_accept(const error_code& ec, tcp::socket socket, Worker& worker) {
  if (ec == net::error::operation_aborted || !acceptor->is_open()) return;  // stop() closed the listener
  if (ec) {
    if (ec == net::error::no_descriptors || ec == net::error::no_buffer_space || ec == net::error::no_memory) {
      // Out of descriptors or memory: accepting again at once would spin. Back off.
      log()->warn("accept failed: {}; retrying in {} ms (see --max-connections and ulimit -n)", ec.message(),
                  kAcceptBackoff.count());
      accept_backoff->expires_after(kAcceptBackoff);
      accept_backoff->async_wait([this](const error_code& wait) {
        if (!wait) do_accept();
      });
      return;
    }
    log()->debug("accept failed: {}", ec.message());
    return do_accept();
  }
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);  // SSE events are small; Nagle would hold them back
  const bool over_limit = connections.fetch_add(1) >= options.max_connections;
  ++metrics.http_connections_accepted;
  net::post(worker.ioc, [this, &worker, s = std::move(socket), over_limit]() mutable {
    start_connection(worker, std::move(s), over_limit);
  });
  do_accept();
}

void detail::HttpServerImpl::start_connection(Worker& worker, tcp::socket socket, bool over_limit) {
  if (tls) {
    using TlsStream = ssl::stream<tcp::socket>;
    std::make_shared<Connection<TlsStream>>(*this, worker, TlsStream(std::move(socket), *tls), over_limit)->start();
  } else {
    std::make_shared<Connection<tcp::socket>>(*this, worker, std::move(socket), over_limit)->start();
  }
}

void detail::HttpServerImpl::stream_opened() {
  ++metrics.streams_open;
  std::lock_guard lock(streams_mu);
  ++streams;
}

void detail::HttpServerImpl::stream_closed() {
  --metrics.streams_open;
  std::lock_guard lock(streams_mu);
  if (--streams == 0) streams_cv.notify_all();
}

HttpServer::HttpServer(const HttpOptions& options, const ServerConfig& config, McpEndpoint& endpoint, Metrics& metrics)
    : impl_(std::make_unique<detail::HttpServerImpl>(options, config, endpoint, metrics)) {}

HttpServer::~HttpServer() { stop(); }

std::error_code HttpServer::bind() { return impl_->bind(); }

std::uint16_t HttpServer::port() const { return impl_->port; }

void HttpServer::start() {
  auto& s = *impl_;
  if (s.started) return;
  s.started = true;
  net::post(s.workers.front()->ioc, [&s] { s.do_accept(); });
  for (auto& worker : s.workers) {
    worker->thread = std::thread([w = worker.get()] { w->ioc.run(); });
  }
  log()->info("listening on {}://{}:{}{} ({} I/O thread(s), {} tool threads)", s.tls ? "https" : "http", s.config.host,
              s.port, s.config.path, s.workers.size(), s.config.tool_threads);
}

void HttpServer::begin_shutdown() {
  // Connections stay open: a request already on its way on an idle keep-alive connection must
  // still get its answer (a 503 or 404 while sessions drain). Every answer from now on says
  // Connection: close, and stop() closes whatever is still idle once the drain is over.
  impl_->draining.store(true);
}

bool HttpServer::wait_streams_closed(std::chrono::steady_clock::time_point give_up) {
  auto& s = *impl_;
  std::unique_lock lock(s.streams_mu);
  return s.streams_cv.wait_until(lock, give_up, [&s] { return s.streams == 0; });
}

void HttpServer::stop() {
  auto& s = *impl_;
  if (!s.started || s.stopped) return;
  s.stopped = true;
  s.draining.store(true);
  net::post(s.workers.front()->ioc, [&s] {
    error_code ignored;
    s.acceptor->close(ignored);
    s.accept_backoff->cancel();
  });
  for (auto& worker : s.workers) {
    net::post(worker->ioc, [w = worker.get()] {
      const std::vector<ConnectionBase*> open(w->connections.begin(), w->connections.end());
      for (auto* c : open) {
        if (w->connections.count(c) != 0) c->stop();
      }
      w->work.reset();  // run() returns once the closed connections' handlers have run
    });
  }
  for (auto& worker : s.workers) worker->thread.join();
}

}  // namespace graceway
