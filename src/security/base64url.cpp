#include "security/base64url.hpp"

#include <array>
#include <cstdint>

namespace graceway::security {

namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::uint8_t kInvalid = 0xFF;

constexpr std::array<std::uint8_t, 256> make_values() {
  std::array<std::uint8_t, 256> values{};
  values.fill(kInvalid);
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    values[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::uint8_t>(i);
  }
  return values;
}

constexpr std::array<std::uint8_t, 256> kValues = make_values();

}  // namespace

std::optional<std::string> base64url_decode(std::string_view text) {
  // A lone trailing character carries 6 bits, less than a byte: no encoder produces it.
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t accumulator = 0;
  unsigned bits = 0;
  for (const char c : text) {
    const std::uint8_t value = kValues[static_cast<unsigned char>(c)];
    if (value == kInvalid) return std::nullopt;
    accumulator = (accumulator << 6U) | value;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((accumulator >> bits) & 0xFFU));
      accumulator &= (1U << bits) - 1U;
    }
  }
  // The bits left over pad the last byte; an encoder leaves them zero, so anything else is a
  // second spelling of the same bytes.
  if (accumulator != 0) return std::nullopt;
  return out;
}

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::uint32_t accumulator = 0;
  unsigned bits = 0;
  for (const char c : bytes) {
    accumulator = (accumulator << 8U) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(accumulator >> bits) & 0x3FU]);
    }
    accumulator &= (1U << bits) - 1U;
  }
  if (bits > 0) out.push_back(kAlphabet[(accumulator << (6 - bits)) & 0x3FU]);
  return out;
}

}  // namespace graceway::security
