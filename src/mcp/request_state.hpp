#pragma once
// The `requestState` of a multi round-trip request: an opaque string the server hands out in an
// InputRequiredResult and the client echoes, unchanged, on its retry. The client can write
// anything there, so the server only trusts what it sealed itself: the payload travels with an
// HMAC-SHA256 under a server-held key and an expiry covered by the same MAC. Sealing protects
// integrity only (the payload is readable by the client), and it does not make a state single-use:
// a caller that needs either keeps that on its side or binds it into the payload.
// Internal (src/ only).

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace graceway::mcp {

// Tokens larger than this are refused before any decoding.
inline constexpr std::size_t kMaxStateBytes = 65536;
// The shortest key accepted: 256 bits, the strength HMAC-SHA256 offers.
inline constexpr std::size_t kMinStateKeyBytes = 32;
// Prefixed to the payload under the MAC, so a token of another format or version, or a MAC made
// for some other purpose with the same key, never verifies as this one.
inline constexpr std::string_view kRequestStateMacTag = "graceway.request-state.v1";

class RequestStateSeal {
 public:
  // `key`: at least kMinStateKeyBytes bytes of secret; std::invalid_argument otherwise.
  explicit RequestStateSeal(std::string key);
  ~RequestStateSeal();
  RequestStateSeal(const RequestStateSeal&) = default;
  RequestStateSeal& operator=(const RequestStateSeal&) = default;
  RequestStateSeal(RequestStateSeal&&) noexcept = default;
  RequestStateSeal& operator=(RequestStateSeal&&) noexcept = default;

  // kMinStateKeyBytes random bytes; std::runtime_error only when the CSPRNG fails.
  [[nodiscard]] static std::string generate_key();
  // The key in the file at `path`: exactly 64 hexadecimal characters, surrounding whitespace
  // ignored (what `openssl rand -hex 32` writes). nullopt with `why` set when the file cannot be
  // read, has the wrong length, or holds a non-hex character; `why` never quotes the contents.
  [[nodiscard]] static std::optional<std::string> load_key(const std::string& path, std::string& why);

  // "<base64url(json)>.<base64url(mac)>", where json carries `payload` (a JSON object) and the
  // expiry. std::invalid_argument when `payload` is not an object; std::length_error when the
  // token would exceed kMaxStateBytes (open() would refuse it anyway).
  [[nodiscard]] std::string seal(const nlohmann::json& payload, std::chrono::system_clock::time_point expires) const;
  // The sealed payload, or nullopt with `why` = "too large", "malformed", "tampered" or "expired".
  // The MAC is checked before the payload is parsed, so nothing unauthenticated reaches the JSON
  // parser; a state is expired from its expiry instant on.
  [[nodiscard]] std::optional<nlohmann::json> open(std::string_view token, std::chrono::system_clock::time_point now,
                                                   std::string& why) const;

 private:
  std::string key_;
};

}  // namespace graceway::mcp
