#pragma once
// Shared by the fuzz targets: a reader that turns the fuzzer's bytes into choices (libFuzzer's
// FuzzedDataProvider ships with clang only, and these targets also build with gcc), and a check
// that aborts with a message, so a broken invariant is a crash the fuzzer records.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace graceway::fuzz {

class FuzzInput {
public:
  FuzzInput(const std::uint8_t* data, std::size_t size) : bytes_(reinterpret_cast<const char*>(data), size) {}

  [[nodiscard]] bool empty() const { return bytes_.empty(); }
  std::uint8_t byte() {
    if (bytes_.empty()) return 0;
    const auto b = static_cast<std::uint8_t>(bytes_.front());
    bytes_.remove_prefix(1);
    return b;
  }
  bool flag() { return (byte() & 1U) != 0; }
  // A value in [0, bound).
  unsigned below(unsigned bound) { return bound == 0 ? 0 : byte() % bound; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(byte() | (byte() << 8U)); }
  // A string of up to `max` bytes, its length read first.
  std::string_view text(std::size_t max) {
    const std::size_t n = std::min<std::size_t>(u16() % (max + 1), bytes_.size());
    const auto out = bytes_.substr(0, n);
    bytes_.remove_prefix(n);
    return out;
  }
  std::string_view rest() {
    const auto out = bytes_;
    bytes_ = {};
    return out;
  }

private:
  std::string_view bytes_;
};

[[noreturn]] inline void fail(const char* file, int line, const char* what) {
  std::fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
  std::abort();
}

}  // namespace graceway::fuzz

// NOLINTNEXTLINE(cppcoreguidelines-macro-usage): the message needs the expression's text.
#define FUZZ_CHECK(cond) ((cond) ? void(0) : ::graceway::fuzz::fail(__FILE__, __LINE__, #cond))
