#pragma once
// Named spdlog loggers (graceway.session, graceway.http, graceway.tool, graceway.server) that
// share one fan-out sink, so tests can attach a capturing sink and the process can switch between
// text and JSON lines. Logging never throws: spdlog's error handler swallows sink failures.

#include <cstdint>
#include <memory>
#include <string_view>

#include <spdlog/common.h>

namespace spdlog {
class logger;
}

namespace graceway::logging {

enum class Format { text, json };

struct Options {
  spdlog::level::level_enum level = spdlog::level::info;
  Format format = Format::text;
  bool to_stderr = true;  // false: only attached sinks receive lines
};

// Applies level and format to every graceway logger. Safe to call more than once.
void configure(const Options& options);

// The logger named `name`, created on first use with the shared sink.
std::shared_ptr<spdlog::logger> get(std::string_view name);

// Attaches or detaches an extra sink (tests capture lines this way). Thread-safe.
void add_sink(const spdlog::sink_ptr& sink);
void remove_sink(const spdlog::sink_ptr& sink);

// Error-level (and critical) lines logged so far by any graceway logger.
std::uint64_t error_lines();

// Parses "trace|debug|info|warn|error|critical|off".
bool parse_level(std::string_view text, spdlog::level::level_enum& out);

}  // namespace graceway::logging
