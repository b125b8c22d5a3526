#include "security/authenticator.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <sstream>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include "graceway/jsonrpc.hpp"
#include "graceway/logging.hpp"
#include "security/http_fetch.hpp"
#include "security/jwk.hpp"
#include "security/jwt.hpp"
#include "transport/http_headers.hpp"

namespace graceway::security {

using nlohmann::json;

namespace {

std::shared_ptr<spdlog::logger> log() {
  static const auto logger = logging::get("graceway.auth");
  return logger;
}

// Bounds: the fetch thread's queue, requests waiting on one fetch, cached introspection answers
// and introspections in flight. Past them a request is refused rather than queued.
constexpr std::size_t kMaxJobs = 256;
constexpr std::size_t kMaxWaiters = 1024;
constexpr std::size_t kMaxIntrospected = 10000;
constexpr std::size_t kMaxIntrospecting = 256;
// An issuer's keys are fetched again after this even when no unknown kid asks for it, so a key
// the issuer withdrew stops verifying.
constexpr auto kKeysMaxAge = std::chrono::minutes(10);
constexpr auto kNegativeCache = std::chrono::seconds(10);
constexpr auto kUnreachableCache = std::chrono::seconds(2);
constexpr auto kTick = std::chrono::seconds(5);
constexpr std::size_t kMaxDocumentDepth = 16;

}  // namespace

std::array<std::uint8_t, 32> sha256(std::string_view bytes) {
  std::array<std::uint8_t, 32> out{};
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), out.data(), &length, EVP_sha256(), nullptr);
  return out;
}

std::string sha256_hex(std::string_view bytes) { return hex(sha256(bytes)); }

std::string hex(const std::array<std::uint8_t, 32>& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (const auto b : bytes) {
    out.push_back(kHex[b >> 4U]);
    out.push_back(kHex[b & 0x0FU]);
  }
  return out;
}

namespace {

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(written > 0 ? static_cast<std::size_t>(written) : 0);
  return out;
}

// A value inside a quoted-string of a challenge. RFC 6750 section 3 allows neither '"' nor '\\'
// in error_description, escaped or not, so they become '\''; control bytes become '?'.
std::string quoted_string(std::string_view value) {
  std::string out = "\"";
  for (const char c : value) {
    if (c == '"' || c == '\\') {
      out.push_back('\'');
    } else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7F) {
      out.push_back('?');
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

// Client-chosen text (a kid) as a log may show it: short, printable.
std::string printable(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, 64)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x20 && u < 0x7F ? c : '?');
  }
  if (text.size() > 64) out.append("...");
  return out;
}

std::optional<json> parse_document(std::string_view text) {
  if (jsonrpc::nests_deeper_than(text, kMaxDocumentDepth)) return std::nullopt;
  auto doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  return doc;
}

std::optional<std::string> string_of(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

bool is_url(std::string_view location) { return location.starts_with("http://") || location.starts_with("https://"); }

std::optional<double> number_of(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

// One trailing slash is folded: authorization servers and clients disagree about it
// (docs/security.md, "Audience").
std::string_view without_trailing_slash(std::string_view uri) {
  if (uri.size() > 1 && uri.back() == '/') uri.remove_suffix(1);
  return uri;
}

std::vector<std::string> split_scopes(std::string_view text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < text.size()) {
    const auto end = text.find(' ', at);
    const auto word = text.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    if (!word.empty()) out.emplace_back(word);
    if (end == std::string_view::npos) break;
    at = end + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out.push_back(' ');
    out.append(w);
  }
  return out;
}

bool is_token68(std::string_view token) {
  std::size_t i = 0;
  while (i < token.size() && (std::isalnum(static_cast<unsigned char>(token[i])) != 0 ||
                              std::string_view("-._~+/").find(token[i]) != std::string_view::npos)) {
    ++i;
  }
  if (i == 0) return false;
  while (i < token.size() && token[i] == '=') ++i;
  return i == token.size();
}


// scheme://authority of a URL, and its path ("" when none).
std::pair<std::string, std::string> split_origin(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {std::string(url), {}};
  const auto path_at = url.find_first_of("/?#", scheme_end + 3);
  if (path_at == std::string_view::npos) return {std::string(url), {}};
  auto path = url.substr(path_at);
  path = path.substr(0, path.find_first_of("?#"));
  return {std::string(url.substr(0, path_at)), std::string(path)};
}

AuthOutcome refuse(errc code, std::string description) {
  return {.principal = std::nullopt, .denial = Denial{.code = code, .description = std::move(description)}};
}
AuthOutcome invalid(std::string description) { return refuse(errc::invalid_token, std::move(description)); }

}  // namespace

// Everything in it is guarded by Authenticator::mu_.
struct Authenticator::KeySource {
  std::string issuer;  // empty: --auth-jwks, shared by every issuer
  std::string location;  // the JWK Set's URL or file; empty until the issuer's metadata names it
  std::shared_ptr<const std::vector<PublicKey>> keys;  // null until loaded; replaced whole
  bool fetching = false;
  std::optional<Clock::time_point> last_attempt;
  Clock::time_point fetched_at{};
  std::string last_error;
  std::vector<std::function<void()>> waiters;
};

struct Authenticator::Introspected {
  AuthOutcome outcome;
  SystemTime expires{};
};

Authenticator::Authenticator(AuthOptions options, const Clock& clock, Metrics& metrics)
    : options_(std::move(options)), clock_(clock), metrics_(metrics) {
  scope_list_ = join(options_.scopes);
  if (options_.oauth()) {
    auto [origin, path] = split_origin(options_.public_url);
    path = std::string(without_trailing_slash(path));
    metadata_paths_.push_back("/.well-known/oauth-protected-resource" + (path == "/" ? std::string() : path));
    json doc = {{"resource", options_.public_url},
                {"authorization_servers", options_.issuers},
                {"bearer_methods_supported", json::array({"header"})}};
    if (!options_.scopes.empty()) doc["scopes_supported"] = options_.scopes;
    metadata_document_ = doc.dump();
    if (!options_.jwks.empty()) {
      auto source = std::make_unique<KeySource>();
      source->location = options_.jwks;
      sources_.push_back(std::move(source));
    } else {
      for (const auto& issuer : options_.issuers) {
        auto source = std::make_unique<KeySource>();
        source->issuer = issuer;
        sources_.push_back(std::move(source));
      }
    }
  }
}

Authenticator::~Authenticator() { stop(); }

void Authenticator::start() {
  std::lock_guard lock(mu_);
  if (fetcher_.joinable() || stopping_) return;
  for (auto& source : sources_) {
    source->fetching = true;
    source->last_attempt = clock_.now();
    jobs_.emplace_back([this, s = source.get()] { refresh_keys(*s); });
  }
  fetcher_ = std::thread([this] { fetch_loop(); });
}

void Authenticator::stop() {
  std::vector<std::function<void()>> waiters;
  std::thread fetcher;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    fetcher = std::move(fetcher_);  // claimed here: a second stop() finds nothing to join
    jobs_.clear();
    for (auto& source : sources_) {
      for (auto& w : source->waiters) waiters.push_back(std::move(w));
      source->waiters.clear();
    }
    for (auto& [digest, list] : introspecting_) {
      for (auto& w : list) waiters.push_back(std::move(w));
    }
    introspecting_.clear();
  }
  work_.notify_all();
  if (fetcher.joinable()) fetcher.join();
  wake_all(waiters);
}

void Authenticator::wake_all(std::vector<std::function<void()>>& waiters) {
  for (auto& w : waiters) {
    if (w) w();
  }
  waiters.clear();
}

std::optional<std::string> Authenticator::unready_reason() const {
  std::lock_guard lock(mu_);
  for (const auto& source : sources_) {
    if (!source->keys) {
      return "the signing keys of " + (source->issuer.empty() ? options_.jwks : source->issuer) + " are not loaded" +
             (source->last_error.empty() ? std::string() : " (" + source->last_error + ")");
    }
  }
  return std::nullopt;
}

std::string Authenticator::challenge(const Denial& denial) const {
  std::vector<std::string> parts;
  switch (denial.code) {
    case errc::invalid_token: parts.push_back("error=\"invalid_token\""); break;
    case errc::insufficient_scope: parts.push_back("error=\"insufficient_scope\""); break;
    case errc::malformed_credentials: parts.push_back("error=\"invalid_request\""); break;
    default: break;  // no credentials at all: no error code (RFC 6750 section 3.1)
  }
  if (!denial.description.empty() && denial.code != errc::credentials_required) {
    parts.push_back("error_description=" + quoted_string(denial.description));
  }
  if (options_.oauth()) {
    const auto [origin, path] = split_origin(options_.public_url);
    parts.push_back("resource_metadata=" + quoted_string(origin + metadata_paths_.front()));
  } else {
    parts.push_back("realm=\"graceway\"");
  }
  if (!scope_list_.empty()) parts.push_back("scope=" + quoted_string(scope_list_));
  std::string out = "Bearer ";
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out.append(", ");
    out.append(parts[i]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Deciding

AuthOutcome Authenticator::authenticate(const Credentials& credentials, const std::function<void()>& wake) {
  if (credentials.authorization_repeated) {
    return refuse(errc::malformed_credentials, "more than one Authorization header");
  }
  const bool keys = !options_.api_keys.empty();
  if (credentials.api_key && keys) {
    if (credentials.authorization) return refuse(errc::malformed_credentials, "both Authorization and X-API-Key");
    return check_api_key(*credentials.api_key);
  }
  if (!credentials.authorization) return refuse(errc::credentials_required, {});
  auto value = http::trim(*credentials.authorization);
  const auto space = value.find(' ');
  if (space == std::string_view::npos || !http::iequals(value.substr(0, space), "Bearer")) {
    return refuse(errc::malformed_credentials, "the Authorization header must be Bearer and a token");
  }
  const auto token = http::trim(value.substr(space + 1));
  if (!is_token68(token)) return refuse(errc::malformed_credentials, "the bearer token is empty or not token68");
  if (keys) {
    auto by_key = check_api_key(token);
    if (by_key.principal || !options_.oauth()) return by_key;
  }
  return check_token(token, wake);
}

AuthOutcome Authenticator::check_api_key(std::string_view key) const {
  const auto digest = sha256(key);
  const ApiKey* match = nullptr;
  // Every entry is compared, in constant time, whatever matched: the time taken says nothing of
  // which key, or how much of one, was right.
  for (const auto& candidate : options_.api_keys) {
    if (CRYPTO_memcmp(candidate.sha256.data(), digest.data(), digest.size()) == 0) match = &candidate;
  }
  if (match == nullptr) return invalid("unknown API key");
  return {.principal = Principal{.id = "key:" + match->name, .display = "key " + match->name, .scopes = {}},
          .denial = std::nullopt};
}

AuthOutcome Authenticator::check_token(std::string_view token, const std::function<void()>& wake) {
  if (!options_.oauth()) return invalid("unknown API key");
  if (token.size() > kMaxTokenBytes) return invalid("token too large");
  if (looks_like_jwt(token)) return check_jwt(token, wake);
  return check_opaque(token, wake);
}

AuthOutcome Authenticator::check_jwt(std::string_view token, const std::function<void()>& wake) {
  const auto parsed = parse_jwt(token);
  if (!parsed.token) return invalid("malformed token: " + parsed.error);
  const Jwt& jwt = *parsed.token;
  const auto typ = [&] {
    std::string t = jwt.typ;
    for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return t;
  }();
  // RFC 9068 section 4: other types (an ID token, above all) must not pass as access tokens.
  if (typ != "at+jwt" && typ != "application/at+jwt") return invalid("the token's typ must be at+jwt");
  const auto issuer = string_of(jwt.claims, "iss");
  if (!issuer || std::find(options_.issuers.begin(), options_.issuers.end(), *issuer) == options_.issuers.end()) {
    return invalid("untrusted issuer");
  }
  std::shared_ptr<const std::vector<PublicKey>> keys;
  {
    std::unique_lock lock(mu_);
    KeySource* source = nullptr;
    for (auto& s : sources_) {
      if (s->issuer.empty() || s->issuer == *issuer) source = s.get();
    }
    if (source == nullptr) return invalid("untrusted issuer");
    const auto knows_kid = [&] {
      if (!source->keys) return false;
      return std::any_of(source->keys->begin(), source->keys->end(), [&](const PublicKey& k) {
        return jwt.kid.empty() ? k.fits(jwt.alg) : k.kid() == jwt.kid;
      });
    };
    if (!knows_kid()) {
      const auto now = clock_.now();
      const bool may_fetch = !source->last_attempt || now - *source->last_attempt >= options_.jwks_cooldown;
      if (wake && !stopping_ && (source->fetching || may_fetch) && source->waiters.size() < kMaxWaiters) {
        source->waiters.push_back(wake);
        if (!source->fetching) {
          if (!post_job_locked([this, source] { refresh_keys(*source); })) {
            source->waiters.pop_back();
            return invalid("the issuer's signing keys cannot be fetched now");
          }
          source->fetching = true;
          source->last_attempt = now;
          log()->info("a token names key '{}', unknown for {}: fetching its keys again", printable(jwt.kid), *issuer);
        }
        return {};
      }
      if (!source->keys) {
        log()->warn("refused a token of {}: its signing keys could not be loaded ({})", *issuer,
                    source->last_error.empty() ? "not yet fetched" : source->last_error);
        return invalid("the issuer's signing keys are unavailable");
      }
      return invalid("unknown signing key");
    }
    keys = source->keys;
  }
  // Every key the token may mean is tried (a rotation can publish two keys of one type, and a
  // kid may be reused across types). The key decides which algorithms are possible, never the
  // token (RS256 -> HS256 confusion).
  bool fitting = false;
  for (const auto& k : *keys) {
    if (!jwt.kid.empty() && k.kid() != jwt.kid) continue;
    if (!k.fits(jwt.alg)) continue;
    fitting = true;
    if (k.verify(jwt.alg, jwt.signing_input, jwt.signature)) return accept_claims(*issuer, jwt.claims);
  }
  return invalid(fitting ? "bad signature" : "the signing key does not fit the token's algorithm");
}

AuthOutcome Authenticator::accept_claims(const std::string& issuer, const json& claims) const {
  // Audience: the token must be meant for this server (RFC 8707, RFC 9068 section 4).
  const auto accepts = [this](std::string_view aud) {
    aud = without_trailing_slash(aud);
    if (aud == without_trailing_slash(options_.public_url)) return true;
    return std::any_of(options_.audiences.begin(), options_.audiences.end(),
                       [&](const std::string& a) { return without_trailing_slash(a) == aud; });
  };
  bool audience_ok = false;
  if (const auto aud = claims.find("aud"); aud != claims.end()) {
    if (aud->is_string()) audience_ok = accepts(aud->get_ref<const std::string&>());
    if (aud->is_array()) {
      audience_ok = std::any_of(aud->begin(), aud->end(), [&](const json& a) {
        return a.is_string() && accepts(a.get_ref<const std::string&>());
      });
    }
  }
  if (!audience_ok) return invalid("the token is not meant for this resource (audience)");
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const auto leeway = static_cast<double>(options_.leeway.count());
  const auto exp = number_of(claims, "exp");
  if (!exp) return invalid("the token has no expiry");
  if (now >= *exp + leeway) return invalid("the token has expired");
  if (const auto nbf = number_of(claims, "nbf"); nbf && *nbf > now + leeway) return invalid("the token is not valid yet");
  if (const auto iat = number_of(claims, "iat"); iat && *iat > now + leeway) return invalid("the token was issued in the future");
  const auto subject = string_of(claims, "sub");
  if (!subject || subject->empty()) return invalid("the token has no subject");
  Principal principal{.id = "token:" + json::array({issuer, *subject}).dump(), .display = *subject + " of " + issuer,
                      .scopes = {}};
  if (const auto scope = string_of(claims, "scope")) {
    principal.scopes = split_scopes(*scope);
  } else if (const auto scp = claims.find("scp"); scp != claims.end()) {
    if (scp->is_string()) principal.scopes = split_scopes(scp->get_ref<const std::string&>());
    if (scp->is_array()) {
      for (const auto& s : *scp) {
        if (s.is_string()) principal.scopes.push_back(s.get<std::string>());
      }
    }
  }
  return require_scopes(std::move(principal));
}

AuthOutcome Authenticator::require_scopes(Principal principal) const {
  std::vector<std::string> missing;
  for (const auto& scope : options_.scopes) {
    if (std::find(principal.scopes.begin(), principal.scopes.end(), scope) == principal.scopes.end()) {
      missing.push_back(scope);
    }
  }
  if (!missing.empty()) return refuse(errc::insufficient_scope, "the token lacks scope " + join(missing));
  return {.principal = std::move(principal), .denial = std::nullopt};
}

AuthOutcome Authenticator::check_opaque(std::string_view token, const std::function<void()>& wake) {
  if (options_.introspection_client_id.empty()) return invalid("malformed token: not a JWT");
  const auto digest = hex(sha256(token));
  std::lock_guard lock(mu_);
  if (const auto it = introspected_.find(digest); it != introspected_.end()) {
    if (std::chrono::system_clock::now() < it->second.expires) return it->second.outcome;
    introspected_.erase(it);
  }
  if (!wake || stopping_) return invalid("the token could not be introspected now");
  if (auto it = introspecting_.find(digest); it != introspecting_.end()) {
    if (it->second.size() >= kMaxWaiters) return invalid("the token could not be introspected now");
    it->second.push_back(wake);
    return {};
  }
  if (introspecting_.size() >= kMaxIntrospecting) return invalid("the token could not be introspected now");
  if (!post_job_locked([this, t = std::string(token), digest] { introspect(t, digest); })) {
    return invalid("the token could not be introspected now");
  }
  introspecting_[digest].push_back(wake);
  return {};
}

// ---------------------------------------------------------------------------------------------
// The fetch thread

bool Authenticator::post_job_locked(std::function<void()> job) {
  if (stopping_ || jobs_.size() >= kMaxJobs) {
    ++metrics_.auth_jobs_dropped;
    return false;
  }
  jobs_.push_back(std::move(job));
  work_.notify_one();
  return true;
}

void Authenticator::fetch_loop() {
  auto next_tick = clock_.now() + kTick;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (jobs_.empty()) {
      work_.wait_until(lock, next_tick, [this] { return stopping_ || !jobs_.empty(); });
    }
    if (stopping_) break;
    if (jobs_.empty() && clock_.now() >= next_tick) {
      next_tick = clock_.now() + kTick;
      // Keys that never loaded are retried after the cooldown; loaded ones are renewed when old.
      const auto now = clock_.now();
      for (auto& source : sources_) {
        // A failing issuer is retried once per cooldown, whether its keys are old or missing.
        const bool cooled = !source->last_attempt || now - *source->last_attempt >= options_.jwks_cooldown;
        const bool due = cooled && (!source->keys || now - source->fetched_at >= kKeysMaxAge);
        if (due && !source->fetching) {
          source->fetching = true;
          source->last_attempt = now;
          jobs_.emplace_back([this, s = source.get()] { refresh_keys(*s); });
        }
      }
      // Expired introspection answers are dropped here too, so the table does not wait for a
      // full house to shrink.
      std::erase_if(introspected_, [](const auto& entry) {
        return std::chrono::system_clock::now() >= entry.second.expires;
      });
    }
    if (jobs_.empty()) continue;
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
}

FetchResult Authenticator::fetch_document(const std::string& url, const char* accept) const {
  ++metrics_.auth_fetches;
  return fetch({.url = url,
                .method = "GET",
                .headers = {{"Accept", accept}},
                .body = {},
                .timeout = options_.fetch_timeout,
                .max_body_bytes = std::size_t{1} << 20U});
}

bool Authenticator::discover(const std::string& issuer, std::string& jwks_uri, std::string& introspection_endpoint,
                             std::string& error) const {
  const auto [origin, path] = split_origin(issuer);
  const auto trimmed = std::string(without_trailing_slash(path == "/" ? std::string_view{} : std::string_view(path)));
  // RFC 8414 section 3.1 inserts the well-known segment before the issuer's path; OpenID
  // Connect Discovery appends it.
  const std::array<std::string, 2> locations{origin + "/.well-known/oauth-authorization-server" + trimmed,
                                             std::string(without_trailing_slash(issuer)) + "/.well-known/openid-configuration"};
  std::string tried;
  for (const auto& location : locations) {
    const auto answer = fetch_document(location, "application/json");
    std::string why;
    if (answer.status == 0) {
      why = answer.error;
    } else if (answer.status != 200) {
      why = "HTTP " + std::to_string(answer.status);
    } else if (const auto doc = parse_document(answer.body); !doc) {
      why = "not a JSON object";
    } else if (string_of(*doc, "issuer") != issuer) {
      // RFC 8414 section 3.3: metadata naming another issuer must not be used.
      why = "its issuer is '" + string_of(*doc, "issuer").value_or("") + "'";
    } else if (const auto uri = string_of(*doc, "jwks_uri"); !uri && options_.jwks.empty()) {
      why = "it names no jwks_uri";
    } else {
      jwks_uri = uri.value_or("");
      introspection_endpoint = string_of(*doc, "introspection_endpoint").value_or("");
      return true;
    }
    ++metrics_.auth_fetch_failures;
    if (!tried.empty()) tried.append("; ");
    tried.append(location).append(": ").append(why);
  }
  error = "no usable metadata for " + issuer + " (" + tried + ")";
  return false;
}

void Authenticator::refresh_keys(KeySource& source) {
  std::string location;
  std::string issuer;
  {
    std::lock_guard lock(mu_);
    location = source.location;
    issuer = source.issuer;
  }
  std::string error;
  std::optional<KeySet> loaded;
  if (location.empty()) {
    std::string jwks_uri;
    std::string introspection;
    if (discover(issuer, jwks_uri, introspection, error)) {
      location = jwks_uri;
      std::lock_guard lock(mu_);
      source.location = jwks_uri;
      if (introspection_endpoint_.empty() && issuer == options_.issuers.front()) introspection_endpoint_ = introspection;
    }
  }
  if (!location.empty()) {
    std::string document;
    if (is_url(location)) {
      const auto answer = fetch_document(location, "application/jwk-set+json, application/json");
      if (answer.status == 200) {
        document = answer.body;
      } else {
        ++metrics_.auth_fetch_failures;
        error = location + ": " + (answer.status == 0 ? answer.error : "HTTP " + std::to_string(answer.status));
      }
    } else {
      std::ifstream in(location);
      std::stringstream text;
      text << in.rdbuf();
      if (in) document = text.str();
      else error = location + ": cannot be read";
    }
    if (error.empty()) {
      std::string why;
      loaded = parse_jwks(document, why);
      if (!loaded) error = location + ": " + why;
    }
  }
  std::vector<std::function<void()>> waiters;
  {
    std::lock_guard lock(mu_);
    source.fetching = false;
    waiters.swap(source.waiters);
    if (loaded) {
      const bool first = !source.keys;
      source.keys = std::make_shared<const std::vector<PublicKey>>(std::move(loaded->keys));
      source.fetched_at = clock_.now();
      source.last_error.clear();
      log()->log(first ? spdlog::level::info : spdlog::level::debug, "signing keys of {}: {} loaded, {} skipped",
                 issuer.empty() ? location : issuer, source.keys->size(), loaded->skipped);
    } else {
      if (source.last_error != error) log()->warn("signing keys of {}: {}", issuer.empty() ? location : issuer, error);
      source.last_error = error;
    }
  }
  wake_all(waiters);
}

void Authenticator::introspect(const std::string& token, const std::string& digest) {
  const auto& issuer = options_.issuers.front();
  std::string endpoint;
  {
    std::lock_guard lock(mu_);
    endpoint = introspection_endpoint_;
  }
  std::string error;
  if (endpoint.empty()) {
    std::string jwks_uri;
    if (discover(issuer, jwks_uri, endpoint, error) && endpoint.empty()) error = issuer + " names no introspection_endpoint";
    if (!endpoint.empty()) {
      std::lock_guard lock(mu_);
      introspection_endpoint_ = endpoint;
    }
  }
  AuthOutcome outcome = invalid("the authorization server could not be reached");
  auto expires = std::chrono::system_clock::now() + kUnreachableCache;
  if (!endpoint.empty()) {
    ++metrics_.auth_introspections;
    const auto credentials = base64(http::percent_encode(options_.introspection_client_id) + ":" +
                                    http::percent_encode(options_.introspection_client_secret));
    const auto answer = fetch({.url = endpoint,
                               .method = "POST",
                               .headers = {{"Authorization", "Basic " + credentials},
                                           {"Content-Type", "application/x-www-form-urlencoded"},
                                           {"Accept", "application/json"}},
                               .body = "token=" + http::percent_encode(token) + "&token_type_hint=access_token",
                               .timeout = options_.fetch_timeout,
                               .max_body_bytes = std::size_t{64} << 10U});
    const auto doc = answer.status == 200 ? parse_document(answer.body) : std::nullopt;
    if (!doc) {
      ++metrics_.auth_fetch_failures;
      error = endpoint + ": " + (answer.status == 0 ? answer.error
                                 : answer.status != 200 ? "HTTP " + std::to_string(answer.status)
                                                        : std::string("not a JSON object"));
    } else if (const auto active = doc->find("active"); active == doc->end() || !active->is_boolean() || !active->get<bool>()) {
      outcome = invalid("the token is not active");
      expires = std::chrono::system_clock::now() + kNegativeCache;
    } else if (const auto type = string_of(*doc, "token_type"); type && http::iequals(*type, "refresh_token")) {
      outcome = invalid("not an access token");
      expires = std::chrono::system_clock::now() + kNegativeCache;
    } else if (const auto iss = string_of(*doc, "iss"); iss && *iss != issuer) {
      outcome = invalid("untrusted issuer");
      expires = std::chrono::system_clock::now() + kNegativeCache;
    } else {
      outcome = accept_claims(issuer, *doc);
      const auto cap = std::chrono::system_clock::now() + options_.introspection_cache;
      expires = std::chrono::system_clock::now() + kNegativeCache;
      if (outcome.principal) {
        // Never past the token's own expiry (clamped: the value is the authorization server's).
        const double exp = std::clamp(number_of(*doc, "exp").value_or(0), 0.0, 4.0e9);
        expires = std::min(cap, std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                    std::chrono::duration<double>(exp))));
      }
    }
  }
  if (!error.empty()) log()->warn("introspection at {} failed: {}", issuer, error);
  std::vector<std::function<void()>> waiters;
  {
    std::lock_guard lock(mu_);
    if (introspected_.size() >= kMaxIntrospected) {
      std::erase_if(introspected_, [](const auto& entry) { return std::chrono::system_clock::now() >= entry.second.expires; });
      if (introspected_.size() >= kMaxIntrospected) introspected_.clear();  // bounded: start over
    }
    introspected_[digest] = Introspected{.outcome = std::move(outcome), .expires = expires};
    if (auto it = introspecting_.find(digest); it != introspecting_.end()) {
      waiters.swap(it->second);
      introspecting_.erase(it);
    }
  }
  wake_all(waiters);
}

}  // namespace graceway::security
