#pragma once
// The eight MCP log levels (RFC 5424 severities) a server sends to its client in
// notifications/message, and the threshold a client sets with logging/setLevel.

#include <optional>
#include <string_view>

namespace graceway {

// Ordered by severity: a client that asks for `warning` receives warning and above.
enum class LogLevel { debug, info, notice, warning, error, critical, alert, emergency };

// "debug", "info", ... as the spec spells them; nullopt for anything else.
[[nodiscard]] std::optional<LogLevel> parse_log_level(std::string_view name) noexcept;
[[nodiscard]] std::string_view to_string(LogLevel level) noexcept;

}  // namespace graceway
