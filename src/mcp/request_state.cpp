#include "mcp/request_state.hpp"

#include <array>
#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <utility>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "security/base64url.hpp"

namespace graceway::mcp {

namespace {

constexpr std::size_t kMacBytes = 32;
constexpr std::size_t kKeyHexChars = kMinStateKeyBytes * 2;
// A key file is one short line; reading stops here so a wrong path to a large file costs nothing.
constexpr std::size_t kMaxKeyFileBytes = 4096;

using Mac = std::array<unsigned char, kMacBytes>;

// HMAC-SHA256 over the version tag followed by the payload bytes. The tag has a fixed length, so
// the concatenation is unambiguous.
Mac compute_mac(const std::string& key, std::string_view payload) {
  std::string input;
  input.reserve(kRequestStateMacTag.size() + payload.size());
  input.append(kRequestStateMacTag);
  input.append(payload);
  Mac mac{};
  std::size_t length = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac.data(), mac.size(),
                &length) == nullptr ||
      length != mac.size()) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return mac;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<nlohmann::json> fail(std::string& why, const char* reason) {
  why = reason;
  return std::nullopt;
}

}  // namespace

RequestStateSeal::RequestStateSeal(std::string key) : key_(std::move(key)) {
  if (key_.size() < kMinStateKeyBytes) {
    throw std::invalid_argument("the requestState key needs at least 32 bytes");
  }
}

RequestStateSeal::~RequestStateSeal() { OPENSSL_cleanse(key_.data(), key_.size()); }

std::string RequestStateSeal::generate_key() {
  std::string key(kMinStateKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1) {
    throw std::runtime_error("the CSPRNG could not produce a requestState key");
  }
  return key;
}

std::optional<std::string> RequestStateSeal::load_key(const std::string& path, std::string& why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = "cannot read the requestState key file " + path;
    return std::nullopt;
  }
  std::string text(kMaxKeyFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (in.bad()) {
    why = "cannot read the requestState key file " + path;
    return std::nullopt;
  }

  std::size_t begin = 0;
  std::size_t end = text.size();
  while (begin < end && is_space(text[begin])) ++begin;
  while (end > begin && is_space(text[end - 1])) --end;
  const std::string_view hex = std::string_view(text).substr(begin, end - begin);
  if (hex.size() != kKeyHexChars) {
    why = "the requestState key file " + path + " must hold 64 hex characters (openssl rand -hex 32), found " +
          (text.size() > kMaxKeyFileBytes ? std::string("more") : std::to_string(hex.size()));
    OPENSSL_cleanse(text.data(), text.size());
    return std::nullopt;
  }
  std::string key(kMinStateKeyBytes, '\0');
  bool valid = true;
  for (std::size_t i = 0; i < key.size(); ++i) {
    const int high = hex_value(hex[2 * i]);
    const int low = hex_value(hex[2 * i + 1]);
    if (high < 0 || low < 0) {
      valid = false;
      break;
    }
    key[i] = static_cast<char>((high << 4) | low);
  }
  OPENSSL_cleanse(text.data(), text.size());
  if (!valid) {
    OPENSSL_cleanse(key.data(), key.size());
    why = "the requestState key file " + path + " holds a character that is not hexadecimal";
    return std::nullopt;
  }
  return key;
}

std::string RequestStateSeal::seal(const nlohmann::json& payload, std::chrono::system_clock::time_point expires) const {
  if (!payload.is_object()) throw std::invalid_argument("a requestState payload must be a JSON object");
  const auto expires_ms = std::chrono::duration_cast<std::chrono::milliseconds>(expires.time_since_epoch()).count();
  const std::string body = nlohmann::json{{"exp", static_cast<std::int64_t>(expires_ms)}, {"p", payload}}.dump();
  const Mac mac = compute_mac(key_, body);
  std::string token = security::base64url_encode(body);
  token.push_back('.');
  token.append(security::base64url_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size())));
  if (token.size() > kMaxStateBytes) throw std::length_error("the sealed requestState exceeds 64 KiB");
  return token;
}

std::optional<nlohmann::json> RequestStateSeal::open(std::string_view token, std::chrono::system_clock::time_point now,
                                                     std::string& why) const {
  if (token.size() > kMaxStateBytes) return fail(why, "too large");
  const std::size_t dot = token.find('.');
  if (dot == std::string_view::npos || token.find('.', dot + 1) != std::string_view::npos) {
    return fail(why, "malformed");
  }
  const auto body = security::base64url_decode(token.substr(0, dot));
  const auto mac = security::base64url_decode(token.substr(dot + 1));
  if (!body || !mac || body->empty()) return fail(why, "malformed");

  // A truncated or extended MAC is tampering too; the compare itself is constant-time so its
  // duration says nothing of how many leading bytes were right.
  const Mac expected = compute_mac(key_, *body);
  if (mac->size() != expected.size() || CRYPTO_memcmp(mac->data(), expected.data(), expected.size()) != 0) {
    return fail(why, "tampered");
  }

  // Authenticated from here on: only a server bug (or a leaked key) gets a bad shape this far.
  nlohmann::json sealed = nlohmann::json::parse(*body, nullptr, /*allow_exceptions=*/false);
  if (sealed.is_discarded() || !sealed.is_object()) return fail(why, "malformed");
  const auto exp = sealed.find("exp");
  const auto payload = sealed.find("p");
  if (exp == sealed.end() || !exp->is_number_integer() || payload == sealed.end() || !payload->is_object()) {
    return fail(why, "malformed");
  }
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  if (static_cast<std::int64_t>(now_ms) >= exp->get<std::int64_t>()) return fail(why, "expired");
  return std::move(*payload);
}

}  // namespace graceway::mcp
