#pragma once
// Who is calling: the credentials of a request (a bearer token or an API key) turned into a
// principal, or into the refusal the client is owed (400, 401, 403 and the WWW-Authenticate
// challenge that goes with it). JWT access tokens are verified in process against the trusted
// issuers' keys; opaque ones through the issuer's introspection endpoint; API keys against the
// key file's hashes. Whatever needs the network (issuer metadata, a JWK Set, an introspection call)
// runs on the authenticator's own fetch thread: a request waiting for it is answered "pending"
// and its engine asks again once woken, so no engine thread ever blocks on an authorization
// server (docs/security.md).
// Thread-safe: any engine thread may call authenticate() at any time.

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "graceway/auth_options.hpp"
#include "graceway/clock.hpp"
#include "graceway/errc.hpp"
#include "graceway/metrics.hpp"

namespace graceway::security {

class PublicKey;
struct FetchResult;

// SHA-256, as bytes and as lowercase hex (API key hashes, the introspection cache's keys).
[[nodiscard]] std::array<std::uint8_t, 32> sha256(std::string_view bytes);
[[nodiscard]] std::string hex(const std::array<std::uint8_t, 32>& bytes);
[[nodiscard]] std::string sha256_hex(std::string_view bytes);

// Whom a request speaks for. Sessions are bound to `id`, and limits are keyed by it.
struct Principal {
  std::string id;       // "key:<name>", or "token:" + the JSON array [issuer, subject]
  std::string display;  // for logs: the key's name, or subject and issuer
  std::vector<std::string> scopes;
};

// The credentials of one request, as its headers carry them.
struct Credentials {
  std::optional<std::string_view> authorization;
  bool authorization_repeated = false;  // more than one Authorization header
  std::optional<std::string_view> api_key;  // X-API-Key
};

// A refusal: credentials_required or invalid_token (401), insufficient_scope (403),
// malformed_credentials (400). `description` goes into the challenge's error_description; it
// never holds token bytes.
struct Denial {
  errc code = errc::credentials_required;
  std::string description;
};

struct AuthOutcome {
  std::optional<Principal> principal;  // set: authenticated
  std::optional<Denial> denial;        // set: refuse
  // Neither set: pending on the fetch thread; `wake` (given to authenticate) runs once the answer
  // is known, and the next authenticate() of the same credentials decides without waiting.
  [[nodiscard]] bool pending() const { return !principal && !denial; }
};

class Authenticator {
public:
  // `options` must have passed validate() and be enabled().
  // `clock` times the key cooldown and age (token expiry is wall-clock time, as tokens say).
  Authenticator(AuthOptions options, const Clock& clock, Metrics& metrics);
  ~Authenticator();  // stop()
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  // Starts the fetch thread, which loads each issuer's metadata and keys at once.
  void start();
  // Joins the fetch thread; every pending request is woken (and then refused). Idempotent.
  void stop();

  // `wake` null: never pending (what would need the network is refused instead).
  [[nodiscard]] AuthOutcome authenticate(const Credentials& credentials, const std::function<void()>& wake);

  // The WWW-Authenticate value for a 401 or 403 (RFC 6750 section 3, RFC 9728 section 5.1): always
  // resource_metadata (absolute) and scope; error and error_description when a token was refused.
  [[nodiscard]] std::string challenge(const Denial& denial) const;
  // Protected resource metadata (RFC 9728): where it is served (the well-known segment inserted
  // before public_url's path; the root form only when public_url has no path) and the document.
  [[nodiscard]] const std::vector<std::string>& metadata_paths() const { return metadata_paths_; }
  [[nodiscard]] const std::string& metadata_document() const { return metadata_document_; }
  // Set while an issuer's keys have never loaded: tokens it signed cannot be verified yet.
  [[nodiscard]] std::optional<std::string> unready_reason() const;

  [[nodiscard]] const AuthOptions& options() const { return options_; }

private:
  struct KeySource;      // one JWK Set: an issuer's jwks_uri, or --auth-jwks
  struct Introspected;   // an introspection answer, cached by the token's hash
  using SystemTime = std::chrono::system_clock::time_point;

  [[nodiscard]] AuthOutcome check_api_key(std::string_view key) const;
  [[nodiscard]] AuthOutcome check_token(std::string_view token, const std::function<void()>& wake);
  [[nodiscard]] AuthOutcome check_jwt(std::string_view token, const std::function<void()>& wake);
  [[nodiscard]] AuthOutcome check_opaque(std::string_view token, const std::function<void()>& wake);
  // Claims of a token whose signature (or introspection) holds: audience, times, subject, scope.
  [[nodiscard]] AuthOutcome accept_claims(const std::string& issuer, const nlohmann::json& claims) const;
  [[nodiscard]] AuthOutcome require_scopes(Principal principal) const;

  // Fetch-thread jobs. Each takes the lock only to publish what it fetched.
  void fetch_loop();
  bool post_job_locked(std::function<void()> job);  // mu_ held; false: the queue is full (counted)
  void refresh_keys(KeySource& source);
  void introspect(const std::string& token, const std::string& digest);
  // A GET of a metadata document or JWK Set (counted, at most 1 MiB, within --auth-fetch-timeout).
  [[nodiscard]] FetchResult fetch_document(const std::string& url, const char* accept) const;
  // The issuer's metadata (RFC 8414, then OpenID discovery); false with `error` set when neither
  // answers with a document naming this issuer.
  bool discover(const std::string& issuer, std::string& jwks_uri, std::string& introspection_endpoint,
                std::string& error) const;
  void wake_all(std::vector<std::function<void()>>& waiters);

  const AuthOptions options_;
  const Clock& clock_;
  Metrics& metrics_;
  std::vector<std::string> metadata_paths_;
  std::string metadata_document_;
  std::string scope_list_;  // the scopes, space-separated, for challenges

  mutable std::mutex mu_;  // guards everything below
  std::condition_variable work_;
  std::deque<std::function<void()>> jobs_;  // bounded by kMaxJobs; overflow refuses (counted)
  bool stopping_ = false;
  std::vector<std::unique_ptr<KeySource>> sources_;  // the list is fixed after construction
  std::string introspection_endpoint_;  // from the first issuer's metadata
  std::unordered_map<std::string, Introspected> introspected_;  // by token hash; bounded
  std::unordered_map<std::string, std::vector<std::function<void()>>> introspecting_;  // in flight, by hash
  std::thread fetcher_;  // owned: joined by stop()
};

}  // namespace graceway::security
