#pragma once
// Signing keys and tokens for the tests of graceway's JWT verification: a fresh key pair per
// algorithm, its public JWK and JWKS document, tokens signed with it, and the forged shapes
// attackers send (HS256 keyed with the public key, alg none). Failures throw; this is test code.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "security/jwk.hpp"

struct evp_pkey_st;

namespace graceway::test {

class TestSigningKey {
public:
  // RSA 2048 for rs256 and ps256, P-256 for es256, Ed25519 for eddsa.
  [[nodiscard]] static TestSigningKey generate(security::JwsAlgorithm alg, std::string kid);

  [[nodiscard]] security::JwsAlgorithm alg() const noexcept { return alg_; }
  [[nodiscard]] const std::string& kid() const noexcept { return kid_; }
  // kty, the key members, kid, alg and "use": "sig".
  [[nodiscard]] nlohmann::json public_jwk() const;
  [[nodiscard]] std::string public_key_pem() const;

  // A compact JWS over `claims`. The header is {alg, kid, typ: "at+jwt"} with `header_overrides`
  // merged on top (a null value removes the member); the signature is always made with this
  // key's own algorithm, whatever the header then says.
  [[nodiscard]] std::string sign(const nlohmann::json& claims,
                                 const nlohmann::json& header_overrides = nlohmann::json::object()) const;
  // The signature over `signing_input` in JWS form (raw r||s for ES256).
  [[nodiscard]] std::string signature(std::string_view signing_input) const;
  // ES256 only: the DER ECDSA-Sig-Value OpenSSL produces, which JWS does not allow.
  [[nodiscard]] std::string der_signature(std::string_view signing_input) const;

private:
  struct FreeKey {
    void operator()(evp_pkey_st* key) const noexcept;
  };
  TestSigningKey(security::JwsAlgorithm alg, std::string kid, std::unique_ptr<evp_pkey_st, FreeKey> key);

  security::JwsAlgorithm alg_;
  std::string kid_;
  std::unique_ptr<evp_pkey_st, FreeKey> key_;
};

// {"keys": [public_jwk()...]}.
[[nodiscard]] std::string jwks_document(const std::vector<const TestSigningKey*>& keys);
// An HS256 token keyed with `secret` (the key-confusion attack uses the server's public key).
[[nodiscard]] std::string hs256_token(std::string_view secret, const nlohmann::json& header,
                                      const nlohmann::json& claims);
// "<header>.<claims>." with "alg": "none" unless `header` names another alg.
[[nodiscard]] std::string unsigned_token(const nlohmann::json& header, const nlohmann::json& claims);

}  // namespace graceway::test
