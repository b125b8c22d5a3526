#include "security/jwt.hpp"

#include <algorithm>

#include "graceway/jsonrpc.hpp"
#include "security/base64url.hpp"

namespace graceway::security {

namespace {

using json = nlohmann::json;

JwtParse refused(std::string reason) {
  JwtParse out;
  out.error = std::move(reason);
  return out;
}

// The decoded segment as a JSON object; nullopt for anything else.
std::optional<json> json_object(std::string_view text) {
  if (jsonrpc::nests_deeper_than(text, kMaxJoseJsonDepth)) return std::nullopt;
  json value = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (!value.is_object()) return std::nullopt;  // also covers discarded (not JSON)
  return value;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    return lower(x) == lower(y);
  });
}

// An optional string member of the header: true and `out` set or left empty, false when present
// with another type.
bool optional_string(const json& header, const char* name, std::string& out) {
  const auto it = header.find(name);
  if (it == header.end()) return true;
  if (!it->is_string()) return false;
  out = it->get_ref<const std::string&>();
  return true;
}

}  // namespace

bool looks_like_jwt(std::string_view token) noexcept { return std::count(token.begin(), token.end(), '.') == 2; }

JwtParse parse_jwt(std::string_view compact) {
  if (compact.size() > kMaxTokenBytes) return refused("token too large");
  const auto dots = std::count(compact.begin(), compact.end(), '.');
  if (dots == 4) return refused("encrypted tokens (jwe) are not supported");
  if (dots != 2) return refused("token must have three segments");
  const auto first = compact.find('.');
  const auto second = compact.find('.', first + 1);
  const auto header_text = compact.substr(0, first);
  const auto payload_text = compact.substr(first + 1, second - first - 1);
  const auto signature_text = compact.substr(second + 1);
  if (header_text.empty() || payload_text.empty() || signature_text.empty()) return refused("empty token segment");

  const auto header_bytes = base64url_decode(header_text);
  if (!header_bytes) return refused("header is not base64url");
  const auto payload_bytes = base64url_decode(payload_text);
  if (!payload_bytes) return refused("payload is not base64url");
  auto signature = base64url_decode(signature_text);
  if (!signature) return refused("signature is not base64url");

  auto header = json_object(*header_bytes);
  if (!header) return refused("header is not a json object");
  const auto alg_it = header->find("alg");
  if (alg_it == header->end()) return refused("header has no alg");
  if (!alg_it->is_string()) return refused("alg is not a string");
  const auto& alg_name = alg_it->get_ref<const std::string&>();
  const auto alg = parse_algorithm(alg_name);
  if (!alg) return refused(equals_ignoring_case(alg_name, "none") ? "unsigned tokens (alg none) are refused" : "unsupported alg");
  Jwt token;
  token.alg = *alg;
  if (!optional_string(*header, "kid", token.kid)) return refused("kid is not a string");
  if (!optional_string(*header, "typ", token.typ)) return refused("typ is not a string");
  // RFC 7515 section 4.1.11: a recipient must refuse extensions it does not understand, and
  // graceway understands none.
  if (header->contains("crit")) return refused("crit header is not supported");

  auto claims = json_object(*payload_bytes);
  if (!claims) return refused("claims are not a json object");

  token.header = std::move(*header);
  token.claims = std::move(*claims);
  token.signing_input = std::string(compact.substr(0, second));
  token.signature = std::move(*signature);
  JwtParse out;
  out.token = std::move(token);
  return out;
}

}  // namespace graceway::security
