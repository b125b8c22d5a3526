#pragma once
// The admission table of design.md section 2, in one pure function. The transport feeds it a
// snapshot (what the request is, what state its session is in, whether the process drains) and
// acts on the decision. Session::begin_request re-checks the state in the same critical section
// that takes the in-flight guard; if the state moved on, the transport asks again.

#include "graceway/errc.hpp"
#include "mcp/era.hpp"

namespace graceway::admission {

// sse_open: GET on the legacy HTTP+SSE endpoint (2024-11-05), which opens a session the way a
// Streamable initialize does. A POST to the legacy messages endpoint is a `post`.
enum class Verb { post, get, del, sse_open };
enum class Body { initialize, request, notification_or_response, none };
enum class Lookup { no_id, unknown, closed, open, draining };

struct Input {
  Verb verb = Verb::post;
  Body body = Body::none;
  Lookup session = Lookup::no_id;
  bool server_draining = false;       // process shutdown has begun
  bool at_capacity = false;           // --max-sessions open sessions exist
  bool draining_answers_404 = false;  // --draining-status 404
  bool resuming = false;              // GET with Last-Event-ID: a draining session still serves it
  bool awaiting_initialize = false;   // a legacy HTTP+SSE session whose initialize has not come
  // The request's era (McpEndpoint::route_era): a modern request has no session to look up.
  mcp::Era era = mcp::Era::legacy;
};

enum class Action {
  create_session,  // POST initialize: new session, 200
  open_legacy,     // GET on the legacy SSE endpoint: new session, its stream, the endpoint event
  initialize_legacy,  // the first initialize POSTed to a legacy session: 202, answer on its stream
  handle,          // POST with requests: run them
  accept,          // POST with only notifications/responses: 202
  open_stream,     // GET: the standalone SSE stream
  serve_stateless, // POST of the modern era: run the request on its own, no session
  end_session,     // DELETE: begin the drain, 200 at once
  refuse,          // answer `refusal` (status, JSON-RPC code, Retry-After from error_mapping)
};

struct Decision {
  Action action = Action::refuse;
  errc refusal = errc::invalid_request;  // meaningful when action == refuse
};

[[nodiscard]] Decision decide(const Input& in) noexcept;

}  // namespace graceway::admission
