#pragma once
// Parsing of human-friendly durations and sizes given on the command line.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace graceway {

// Accepts "250ms", "3s", "1.5s", "2m", "1h", "0"; a bare number means seconds.
// Returns nullopt on anything else (negative, empty, unknown unit, overflow).
[[nodiscard]] std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// Formats a duration the way parse_duration reads it back ("250ms", "3s", "2m").
[[nodiscard]] std::string format_duration(std::chrono::milliseconds d);

// Accepts "1048576", "512KiB", "4MiB", "1GiB", "64k", "4M" (k/M/G are binary multiples too).
[[nodiscard]] std::optional<std::uint64_t> parse_size(std::string_view text);

}  // namespace graceway
