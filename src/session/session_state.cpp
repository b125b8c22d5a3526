#include "graceway/session_state.hpp"

namespace graceway {

std::string_view to_string(SessionState state) noexcept {
  switch (state) {
    case SessionState::open: return "open";
    case SessionState::draining: return "draining";
    case SessionState::closed: return "closed";
  }
  return "?";
}

std::string_view to_string(EndReason why) noexcept {
  switch (why) {
    case EndReason::remote_delete: return "delete";
    case EndReason::idle: return "idle";
    case EndReason::shutdown: return "shutdown";
    case EndReason::drained: return "drained";
    case EndReason::deadline: return "deadline";
    case EndReason::stream_closed: return "stream_closed";
    case EndReason::server_gone: return "server_gone";
  }
  return "?";
}

bool is_legal_transition(SessionState from, SessionState to, EndReason why) noexcept {
  const bool ends_open = why == EndReason::remote_delete || why == EndReason::idle || why == EndReason::shutdown ||
                         why == EndReason::stream_closed || why == EndReason::server_gone;
  const bool ends_drain = why == EndReason::drained || why == EndReason::deadline;
  if (from == SessionState::open) return (to == SessionState::draining || to == SessionState::closed) && ends_open;
  if (from == SessionState::draining) return to == SessionState::closed && ends_drain;
  return false;  // nothing leaves closed
}

}  // namespace graceway
