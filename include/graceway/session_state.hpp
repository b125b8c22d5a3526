#pragma once
// The session lifecycle: open -> draining -> closed (design.md section 2).

#include <cstdint>
#include <string_view>

namespace graceway {

enum class SessionState : std::uint8_t { open, draining, closed };

// Why a session left `open` or `draining`. Doubles as the index of Metrics::sessions_ended.
enum class EndReason : std::uint8_t {
  remote_delete = 0,  // DELETE from the client
  idle = 1,           // --session-idle-timeout passed with nothing in flight
  shutdown = 2,       // process shutdown
  drained = 3,        // the last in-flight request finished
  deadline = 4,       // the grace window ended with work still running
  stream_closed = 5,  // the client closed a legacy HTTP+SSE session's stream (its DELETE)
  server_gone = 6,    // gateway: the session's MCP server exited, could not start, or refused initialize
};

[[nodiscard]] std::string_view to_string(SessionState state) noexcept;
[[nodiscard]] std::string_view to_string(EndReason why) noexcept;  // "delete", "idle", ...

// The edge table. open->draining and open->closed are taken for delete/idle/shutdown/stream_closed/
// server_gone;
// draining->closed for drained/deadline. Everything else is illegal.
[[nodiscard]] bool is_legal_transition(SessionState from, SessionState to, EndReason why) noexcept;

}  // namespace graceway
