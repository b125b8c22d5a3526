#include "transport/admission.hpp"

namespace graceway::admission {

Decision decide(const Input& in) noexcept {
  auto refuse = [](errc e) { return Decision{Action::refuse, e}; };
  const errc draining_refusal = in.draining_answers_404 ? errc::session_terminated : errc::session_draining;

  // The stateless era: no session, so only the process's own state decides (session ids are
  // ignored, and --max-sessions does not apply).
  if (in.era == mcp::Era::modern) {
    if (in.verb != Verb::post) return refuse(errc::method_not_allowed);
    if (in.server_draining) return refuse(errc::server_draining);
    return {Action::serve_stateless, {}};
  }

  // POST initialize without a session id: the only way in, and the client's recovery path.
  if (in.verb == Verb::post && in.body == Body::initialize && in.session == Lookup::no_id) {
    if (in.server_draining) return refuse(errc::server_draining);
    if (in.at_capacity) return refuse(errc::too_many_sessions);
    return {Action::create_session, {}};
  }

  // GET on the legacy SSE endpoint: a new session, admitted like an initialize (it carries no id).
  if (in.verb == Verb::sse_open) {
    if (in.server_draining) return refuse(errc::server_draining);
    if (in.at_capacity) return refuse(errc::too_many_sessions);
    return {Action::open_legacy, {}};
  }

  switch (in.session) {
    case Lookup::no_id:
      return refuse(errc::session_required);  // spec: SHOULD 400 without Mcp-Session-Id
    case Lookup::unknown:
    case Lookup::closed:
      return refuse(errc::session_not_found);  // spec: MUST 404 after termination
    case Lookup::open:
    case Lookup::draining:
      break;
  }
  const bool draining = in.session == Lookup::draining;

  switch (in.verb) {
    case Verb::post:
      switch (in.body) {
        case Body::initialize:
          if (draining) return refuse(draining_refusal);
          return in.awaiting_initialize ? Decision{Action::initialize_legacy, {}} : refuse(errc::already_initialized);
        case Body::request:
          return draining ? refuse(draining_refusal) : Decision{Action::handle, {}};
        case Body::notification_or_response:
          // Cancellations and replies help in-flight work finish, so a drain still takes them.
          return {Action::accept, {}};
        case Body::none:
          return refuse(errc::invalid_request);
      }
      break;
    case Verb::get:
      // A resume picks up work already admitted, so a drain serves it until the session closes.
      return draining && !in.resuming ? refuse(draining_refusal) : Decision{Action::open_stream, {}};
    case Verb::del:
      return {Action::end_session, {}};  // idempotent while draining; the deadline stays
    case Verb::sse_open:
      break;  // answered above
  }
  return refuse(errc::invalid_request);
}

}  // namespace graceway::admission
