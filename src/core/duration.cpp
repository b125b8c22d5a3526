#include "graceway/duration.hpp"

#include <cctype>
#include <cmath>
#include <limits>

namespace graceway {
namespace {

// Splits "1.5s" into the number 1.5 and the unit "s". Rejects signs, exponents and empty numbers.
bool split_number(std::string_view text, double& number, std::string_view& unit) {
  std::size_t i = 0;
  bool digits = false;
  bool dot = false;
  double whole = 0;
  double scale = 1;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (std::isdigit(static_cast<unsigned char>(c)) != 0) {
      digits = true;
      if (dot) {
        scale /= 10;
        whole += (c - '0') * scale;
      } else {
        whole = whole * 10 + (c - '0');
      }
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
  }
  if (!digits) return false;
  number = whole;
  unit = text.substr(i);
  return true;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  double number = 0;
  std::string_view unit;
  if (!split_number(text, number, unit)) return std::nullopt;
  double ms_per_unit = 0;
  if (unit.empty() || unit == "s") {
    ms_per_unit = 1000;
  } else if (unit == "ms") {
    ms_per_unit = 1;
  } else if (unit == "m" || unit == "min") {
    ms_per_unit = 60'000;
  } else if (unit == "h") {
    ms_per_unit = 3'600'000;
  } else {
    return std::nullopt;
  }
  const double ms = number * ms_per_unit;
  // Ten years is far beyond any sane timeout and keeps every later time_point addition safe.
  constexpr double max_ms = 10.0 * 365 * 24 * 3'600'000;
  if (!std::isfinite(ms) || ms > max_ms) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(ms)));
}

std::string format_duration(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  std::uint64_t value = 0;
  std::size_t i = 0;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) != 0; ++i) {
    const auto digit = static_cast<std::uint64_t>(text[i] - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  if (i == 0) return std::nullopt;
  const std::string_view unit = text.substr(i);
  std::uint64_t multiplier = 1;
  if (unit.empty() || unit == "B") {
    multiplier = 1;
  } else if (unit == "k" || unit == "K" || unit == "KiB") {
    multiplier = 1ULL << 10U;
  } else if (unit == "M" || unit == "MiB") {
    multiplier = 1ULL << 20U;
  } else if (unit == "G" || unit == "GiB") {
    multiplier = 1ULL << 30U;
  } else {
    return std::nullopt;
  }
  if (value > std::numeric_limits<std::uint64_t>::max() / multiplier) return std::nullopt;
  return value * multiplier;
}

}  // namespace graceway
