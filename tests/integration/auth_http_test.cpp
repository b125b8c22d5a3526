// Authentication, sessions bound to their principal, rate limits and CORS (docs/security.md), over
// real loopback sockets. The authorization server is a loopback cpp-httplib server that serves
// metadata, a JWK Set and an introspection endpoint; tokens are signed here with keys made for
// each test. The full OAuth flow with a real authorization server and the official SDK client is
// e2e.ts_sdk_oauth; CORS in a real browser is e2e.browser_cors.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include <httplib.h>

#include "security/authenticator.hpp"
#include "support/jwt_signer.hpp"
#include "support/log_capture.hpp"
#include "support/mcp_client.hpp"
#include "support/test_server.hpp"

namespace graceway::test {
namespace {

using namespace std::chrono_literals;
using security::JwsAlgorithm;

constexpr const char* kResource = "https://mcp.example.test/mcp";
constexpr const char* kMetadataUrl = "https://mcp.example.test/.well-known/oauth-protected-resource/mcp";

// A loopback authorization server: metadata naming its jwks_uri and introspection endpoint, the
// JWK Set (replaceable while it runs), and introspection answers by token. Counts what it served.
class FakeAuthorizationServer {
public:
  FakeAuthorizationServer() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    issuer_ = "http://127.0.0.1:" + std::to_string(port_);
    server_.Get("/.well-known/oauth-authorization-server", [this](const httplib::Request&, httplib::Response& res) {
      ++metadata_fetches;
      res.set_content(json{{"issuer", issuer_},
                           {"jwks_uri", issuer_ + "/jwks"},
                           {"introspection_endpoint", issuer_ + "/introspect"}}
                          .dump(),
                      "application/json");
    });
    server_.Get("/jwks", [this](const httplib::Request&, httplib::Response& res) {
      ++jwks_fetches;
      std::lock_guard lock(mu_);
      res.set_content(jwks_, "application/json");
    });
    server_.Post("/introspect", [this](const httplib::Request& req, httplib::Response& res) {
      ++introspections;
      // graceway-rs:secret, client_secret_basic
      if (req.get_header_value("Authorization") != "Basic Z3JhY2V3YXktcnM6c2VjcmV0") {
        res.status = 401;
        return;
      }
      std::lock_guard lock(mu_);
      const auto token = req.get_param_value("token");
      const auto found = introspection_.find(token);
      res.set_content(found == introspection_.end() ? R"({"active":false})" : found->second.dump(), "application/json");
    });
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~FakeAuthorizationServer() {
    server_.stop();
    thread_.join();
  }
  FakeAuthorizationServer(const FakeAuthorizationServer&) = delete;
  FakeAuthorizationServer& operator=(const FakeAuthorizationServer&) = delete;

  [[nodiscard]] const std::string& issuer() const { return issuer_; }
  void publish(const std::vector<const TestSigningKey*>& keys) {
    std::lock_guard lock(mu_);
    jwks_ = jwks_document(keys);
  }
  void introspect_as(const std::string& token, json answer) {
    std::lock_guard lock(mu_);
    introspection_[token] = std::move(answer);
  }

  std::atomic<int> metadata_fetches{0};
  std::atomic<int> jwks_fetches{0};
  std::atomic<int> introspections{0};

private:
  httplib::Server server_;
  int port_ = 0;
  std::string issuer_;
  std::thread thread_;
  std::mutex mu_;  // guards jwks_ and introspection_ (read by the server's threads)
  std::string jwks_ = R"({"keys":[]})";
  std::map<std::string, json> introspection_;
};

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

HeaderList bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

void expect_error_body(const Reply& reply, int code) {
  ASSERT_EQ(reply.messages.size(), 1U) << reply.body;
  EXPECT_EQ(reply.messages.front()["jsonrpc"], "2.0");
  EXPECT_EQ(reply.messages.front()["error"]["code"], code) << reply.body;
}

class AuthHttpTest : public ::testing::Test {
protected:
  AuthHttpTest() { as_.publish({&es256_}); }

  // A server trusting as_, requiring scope mcp:tools; `adjust` changes the options.
  std::unique_ptr<TestServer> start(const std::function<void(Server::Options&)>& adjust = {}) {
    auto server = std::make_unique<TestServer>(test_config(), nullptr, HttpOptions{}, [&](Server::Options& options) {
      options.auth.public_url = kResource;
      options.auth.issuers = {as_.issuer()};
      options.auth.scopes = {"mcp:tools"};
      options.auth.jwks_cooldown = 30s;
      if (adjust) adjust(options);
    });
    return server;
  }

  [[nodiscard]] json claims(const std::string& subject = "alice") const {
    return {{"iss", as_.issuer()}, {"sub", subject},         {"aud", kResource},      {"client_id", "test-client"},
            {"scope", "mcp:tools"}, {"iat", now_seconds()}, {"exp", now_seconds() + 300}};
  }
  [[nodiscard]] std::string token(const std::string& subject = "alice") const { return es256_.sign(claims(subject)); }

  // initialize + notifications/initialized with `credentials`; the session id or "".
  static std::string open_with(McpClient& client, const HeaderList& credentials) {
    const auto reply = client.post(McpClient::initialize(1), {}, credentials);
    if (reply.status != 200) return {};
    const auto session = reply.header("Mcp-Session-Id");
    if (client.post(McpClient::notification("notifications/initialized"), session, credentials).status != 202) return {};
    return session;
  }
  static Reply echo(McpClient& client, const std::string& session, const HeaderList& credentials, int id = 7) {
    return client.post(McpClient::tool_call(id, "echo", {{"text", "hi"}}), session, credentials);
  }

  // The 401 a refused token gets: invalid_token, the description, the metadata URL and scope.
  static void expect_invalid_token(const Reply& reply, const std::string& description_part) {
    EXPECT_EQ(reply.status, 401) << reply.body;
    const auto challenge = reply.header("WWW-Authenticate");
    EXPECT_TRUE(challenge.starts_with("Bearer error=\"invalid_token\", error_description=\"")) << challenge;
    EXPECT_NE(challenge.find(description_part), std::string::npos) << challenge;
    EXPECT_NE(challenge.find(std::string("resource_metadata=\"") + kMetadataUrl + "\""), std::string::npos) << challenge;
    EXPECT_NE(challenge.find("scope=\"mcp:tools\""), std::string::npos) << challenge;
    expect_error_body(reply, -32000);
  }

  LogCapture logs_;
  FakeAuthorizationServer as_;
  TestSigningKey es256_ = TestSigningKey::generate(JwsAlgorithm::es256, "k1");
};

// --- the challenge and the metadata --------------------------------------------------------

TEST_F(AuthHttpTest, NoCredentialsGet401WithTheBareChallengeOnEveryVerb) {
  auto server = start();
  auto client = server->client();
  const std::string expected = std::string("Bearer resource_metadata=\"") + kMetadataUrl + "\", scope=\"mcp:tools\"";
  const auto post = client.post(McpClient::initialize(1));
  EXPECT_EQ(post.status, 401);
  EXPECT_EQ(post.header("WWW-Authenticate"), expected);
  expect_error_body(post, -32000);
  const auto get = client.get("/mcp", {{"Accept", "text/event-stream"}});
  EXPECT_EQ(get.status, 401);
  EXPECT_EQ(get.header("WWW-Authenticate"), expected);
  const auto del = client.del("some-session");
  EXPECT_EQ(del.status, 401);
  EXPECT_EQ(del.header("WWW-Authenticate"), expected);
  // The legacy transport too.
  EXPECT_EQ(client.get("/sse", {{"Accept", "text/event-stream"}}).status, 401);
  EXPECT_EQ(server->server().metrics().auth_refusals[0].load(), 4U);
}

TEST_F(AuthHttpTest, ProtectedResourceMetadataIsServedWithoutCredentialsToAnyOrigin) {
  auto server = start();
  auto client = server->client();
  const auto reply = client.get("/.well-known/oauth-protected-resource/mcp", {{"Origin", "https://elsewhere.example"}});
  ASSERT_EQ(reply.status, 200);
  const auto doc = json::parse(reply.body);
  EXPECT_EQ(doc["resource"], kResource);
  EXPECT_EQ(doc["authorization_servers"], json::array({as_.issuer()}));
  EXPECT_EQ(doc["scopes_supported"], json::array({"mcp:tools"}));
  EXPECT_EQ(doc["bearer_methods_supported"], json::array({"header"}));
  EXPECT_EQ(reply.header("Access-Control-Allow-Origin"), "*");
  // The root form describes the origin, not this resource: not served.
  EXPECT_EQ(client.get("/.well-known/oauth-protected-resource").status, 404);
  const auto preflight = client.send("OPTIONS", "/.well-known/oauth-protected-resource/mcp",
                                     {{"Origin", "https://elsewhere.example"},
                                      {"Access-Control-Request-Method", "GET"},
                                      {"Access-Control-Request-Headers", "mcp-protocol-version"}});
  EXPECT_EQ(preflight.status, 204);
  EXPECT_EQ(preflight.header("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(preflight.header("Access-Control-Allow-Headers"), "mcp-protocol-version");
}

// --- tokens that pass ----------------------------------------------------------------------

TEST_F(AuthHttpTest, TokensOfEveryAllowedAlgorithmAreServed) {
  auto rs256 = TestSigningKey::generate(JwsAlgorithm::rs256, "rsa");
  auto ps256 = TestSigningKey::generate(JwsAlgorithm::ps256, "pss");
  auto eddsa = TestSigningKey::generate(JwsAlgorithm::eddsa, "ed");
  as_.publish({&es256_, &rs256, &ps256, &eddsa});
  auto server = start();
  auto client = server->client();
  for (const TestSigningKey* key : {&es256_, &rs256, &ps256, &eddsa}) {
    const auto credentials = bearer(key->sign(claims()));
    const auto session = open_with(client, credentials);
    ASSERT_FALSE(session.empty()) << key->kid();
    const auto reply = echo(client, session, credentials);
    EXPECT_EQ(reply.status, 200) << key->kid();
    EXPECT_EQ(reply.response(7)["result"]["content"][0]["text"], "hi") << key->kid();
  }
  EXPECT_TRUE(logs_.wait_for("-> open (initialize"));
  EXPECT_EQ(logs_.count("alice of " + as_.issuer()), 4U);
}

TEST_F(AuthHttpTest, AnAudienceAliasAndATrailingSlashAreAccepted) {
  auto server = start([](Server::Options& o) { o.auth.audiences = {"https://alias.example.test"}; });
  auto client = server->client();
  auto with_slash = claims();
  with_slash["aud"] = std::string(kResource) + "/";
  EXPECT_FALSE(open_with(client, bearer(es256_.sign(with_slash))).empty());
  auto alias = claims();
  alias["aud"] = json::array({"https://other.example.test", "https://alias.example.test"});
  EXPECT_FALSE(open_with(client, bearer(es256_.sign(alias))).empty());
}

TEST_F(AuthHttpTest, ARefreshedTokenOfTheSamePrincipalKeepsTheSession) {
  auto server = start();
  auto client = server->client();
  const auto session = open_with(client, bearer(token()));
  ASSERT_FALSE(session.empty());
  auto later = claims();
  later["iat"] = now_seconds() + 1;
  later["jti"] = "second";
  EXPECT_EQ(echo(client, session, bearer(es256_.sign(later))).status, 200);
}

// --- tokens that are refused ---------------------------------------------------------------

TEST_F(AuthHttpTest, ForgedAndMisdirectedTokensGet401InvalidToken) {
  auto other = TestSigningKey::generate(JwsAlgorithm::es256, "k1");  // same kid, not the issuer's key
  auto server = start();
  auto client = server->client();
  const auto refused = [&](const std::string& bad, const std::string& why) {
    SCOPED_TRACE(why);
    expect_invalid_token(client.post(McpClient::initialize(1), {}, bearer(bad)), why);
  };
  refused(other.sign(claims()), "bad signature");
  refused(unsigned_token({{"alg", "none"}, {"typ", "at+jwt"}}, claims()), "malformed token");
  // HS256 keyed with the issuer's public key: the key decides the algorithm, not the token.
  refused(hs256_token(es256_.public_key_pem(), {{"alg", "HS256"}, {"typ", "at+jwt"}, {"kid", "k1"}}, claims()),
          "malformed token");
  // An ES256 key asked to verify an RS256 header.
  refused(es256_.sign(claims(), {{"alg", "RS256"}}), "does not fit");
  auto expired = claims();
  expired["exp"] = now_seconds() - 120;  // past the 60 s leeway
  refused(es256_.sign(expired), "expired");
  auto early = claims();
  early["nbf"] = now_seconds() + 600;
  refused(es256_.sign(early), "not valid yet");
  auto issuer = claims();
  issuer["iss"] = "https://evil.example.test";
  refused(es256_.sign(issuer), "untrusted issuer");
  auto audience = claims();
  audience["aud"] = json::array({"https://another-resource.example.test/mcp"});
  refused(es256_.sign(audience), "audience");
  auto no_exp = claims();
  no_exp.erase("exp");
  refused(es256_.sign(no_exp), "no expiry");
  // An ID token replayed as an access token (RFC 9068 section 4).
  refused(es256_.sign(claims(), {{"typ", "JWT"}}), "typ");
  refused("not-a-jwt-and-no-introspection", "not a JWT");
  EXPECT_EQ(server->server().metrics().auth_refusals[1].load(), 11U);
  // The token never reaches a log line.
  for (const auto& line : logs_.lines()) EXPECT_EQ(line.text.find(other.sign(claims()).substr(0, 40)), std::string::npos);
}

TEST_F(AuthHttpTest, AValidTokenWithoutTheScopeGets403InsufficientScope) {
  auto server = start();
  auto client = server->client();
  auto narrow = claims();
  narrow["scope"] = "profile";
  const auto reply = client.post(McpClient::initialize(1), {}, bearer(es256_.sign(narrow)));
  EXPECT_EQ(reply.status, 403);
  EXPECT_EQ(reply.header("WWW-Authenticate"),
            std::string("Bearer error=\"insufficient_scope\", error_description=\"the token lacks scope mcp:tools\", "
                        "resource_metadata=\"") +
                kMetadataUrl + "\", scope=\"mcp:tools\"");
  expect_error_body(reply, -32000);
  // scp as an array is read too.
  auto scp = claims();
  scp.erase("scope");
  scp["scp"] = json::array({"mcp:tools"});
  EXPECT_FALSE(open_with(client, bearer(es256_.sign(scp))).empty());
}

TEST_F(AuthHttpTest, MalformedCredentialsGet400) {
  auto server = start();
  auto client = server->client();
  const auto bad = [&](const HeaderList& headers, const std::string& query = {}) {
    auto all = McpClient::mcp_headers();
    all.insert(all.end(), headers.begin(), headers.end());
    return client.send("POST", "/mcp" + query, all, McpClient::initialize(1).dump());
  };
  const auto twice = bad({{"Authorization", "Bearer " + token()}, {"Authorization", "Bearer " + token("bob")}});
  EXPECT_EQ(twice.status, 400);
  EXPECT_TRUE(twice.header("WWW-Authenticate").starts_with("Bearer error=\"invalid_request\"")) << twice.header("WWW-Authenticate");
  EXPECT_EQ(bad({{"Authorization", "Basic YWxpY2U6c2VjcmV0"}}).status, 400);
  EXPECT_EQ(bad({{"Authorization", "Bearer"}}).status, 400);
  EXPECT_EQ(bad({{"Authorization", "Bearer a b"}}).status, 400);
  // A token in the URL is refused even when it is valid.
  EXPECT_EQ(bad({}, "?access_token=" + token()).status, 400);
}

// --- keys: discovery, rotation, outages ----------------------------------------------------

TEST_F(AuthHttpTest, AnUnknownKidFetchesTheKeysOnceThenIsRefusedUntilTheCooldown) {
  ManualClock clock;
  auto server = start([&](Server::Options& o) { o.clock = &clock; });
  auto client = server->client();
  ASSERT_FALSE(open_with(client, bearer(token())).empty());
  clock.advance(31s);  // the cooldown since the keys were loaded at start has passed
  const int fetched = as_.jwks_fetches.load();
  // Rotation: the issuer publishes k2 and signs with it; the first k2 token fetches once.
  auto k2 = TestSigningKey::generate(JwsAlgorithm::es256, "k2");
  as_.publish({&es256_, &k2});
  EXPECT_FALSE(open_with(client, bearer(k2.sign(claims()))).empty());
  EXPECT_EQ(as_.jwks_fetches.load(), fetched + 1);
  // Invented kids: within the cooldown none of them fetches again.
  for (int i = 0; i < 20; ++i) {
    auto stranger = TestSigningKey::generate(JwsAlgorithm::es256, "spray-" + std::to_string(i));
    expect_invalid_token(client.post(McpClient::initialize(1), {}, bearer(stranger.sign(claims()))), "unknown signing key");
  }
  EXPECT_EQ(as_.jwks_fetches.load(), fetched + 1);
  EXPECT_TRUE(logs_.wait_for("unknown for " + as_.issuer()));
}

TEST_F(AuthHttpTest, AnUnknownKidAfterTheCooldownIsLookedUpOnceMoreAndThenRefused) {
  auto server = start([](Server::Options& o) { o.auth.jwks_cooldown = 0ms; });
  auto client = server->client();
  ASSERT_FALSE(open_with(client, bearer(token())).empty());
  const int fetched = as_.jwks_fetches.load();
  auto stranger = TestSigningKey::generate(JwsAlgorithm::es256, "never-published");
  expect_invalid_token(client.post(McpClient::initialize(1), {}, bearer(stranger.sign(claims()))), "unknown signing key");
  EXPECT_EQ(as_.jwks_fetches.load(), fetched + 1);  // refreshed once for it, then refused
}

TEST_F(AuthHttpTest, AnIssuerThatIsDownGets401AndALogLineNeverA500OrAHang) {
  auto server = start([](Server::Options& o) {
    o.auth.issuers = {"http://127.0.0.1:1"};  // nothing listens there
    o.auth.fetch_timeout = 2s;
  });
  auto client = server->client();
  auto lost = claims();
  lost["iss"] = "http://127.0.0.1:1";
  const auto reply = client.post(McpClient::initialize(1), {}, bearer(es256_.sign(lost)));
  expect_invalid_token(reply, "signing keys");
  EXPECT_TRUE(logs_.wait_for("signing keys of http://127.0.0.1:1"));
  const auto ready = client.get("/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("not loaded"), std::string::npos) << ready.body;
  EXPECT_EQ(client.get("/healthz").status, 200);
  EXPECT_TRUE(logs_.errors().empty());
}

TEST_F(AuthHttpTest, OpaqueTokensAreIntrospectedAndTheAnswerIsCached) {
  auto server = start([](Server::Options& o) {
    o.auth.introspection_client_id = "graceway-rs";
    o.auth.introspection_client_secret = "secret";
  });
  as_.introspect_as("opaque-alice", {{"active", true},
                                     {"iss", as_.issuer()},
                                     {"sub", "alice"},
                                     {"aud", kResource},
                                     {"scope", "mcp:tools"},
                                     {"exp", now_seconds() + 300}});
  as_.introspect_as("opaque-elsewhere", {{"active", true},
                                         {"sub", "alice"},
                                         {"aud", "https://another.example.test"},
                                         {"scope", "mcp:tools"},
                                         {"exp", now_seconds() + 300}});
  auto client = server->client();
  const auto credentials = bearer("opaque-alice");
  const auto session = open_with(client, credentials);
  ASSERT_FALSE(session.empty());
  EXPECT_EQ(echo(client, session, credentials).status, 200);
  EXPECT_EQ(as_.introspections.load(), 1);  // the second and third requests were answered from the cache
  expect_invalid_token(client.post(McpClient::initialize(1), {}, bearer("opaque-revoked")), "not active");
  expect_invalid_token(client.post(McpClient::initialize(1), {}, bearer("opaque-elsewhere")), "audience");
}

// --- sessions bound to their principal -----------------------------------------------------

TEST_F(AuthHttpTest, AnotherPrincipalsRequestsOnALiveSessionGetTheUnknownSession404) {
  auto server = start();
  auto client = server->client();
  const auto alice = bearer(token("alice"));
  const auto bob = bearer(token("bob"));
  const auto session = open_with(client, alice);
  ASSERT_FALSE(session.empty());
  const auto unknown = echo(client, "no-such-session", bob);
  const auto foreign = echo(client, session, bob);
  EXPECT_EQ(foreign.status, 404);
  EXPECT_EQ(foreign.body, unknown.body);
  EXPECT_EQ(foreign.header("Content-Type"), unknown.header("Content-Type"));
  auto get_headers = bob;
  get_headers.emplace_back("Accept", "text/event-stream");
  get_headers.emplace_back("Mcp-Session-Id", session);
  EXPECT_EQ(client.get("/mcp", get_headers).status, 404);
  EXPECT_EQ(client.del(session, bob).status, 404);
  // Alice's session was not disturbed, not even by bob's DELETE.
  EXPECT_EQ(server->server().session_state(session), SessionState::open);
  EXPECT_EQ(echo(client, session, alice).status, 200);
  EXPECT_EQ(server->server().metrics().foreign_session_requests.load(), 3U);
  EXPECT_TRUE(logs_.wait_for("named a session another principal opened"));
}

TEST_F(AuthHttpTest, ApiKeysAreAcceptedAsBearerOrXApiKeyAndBindSessionsToTheirName) {
  std::vector<std::string> errors;
  auto keys = parse_api_keys(api_key_line("ci", "ci-key-0123456789abcdef") + "\n# a comment\n" +
                                 api_key_line("ops", "ops-key-0123456789abcdef") + "\n",
                             errors);
  ASSERT_TRUE(errors.empty());
  auto server = start([&](Server::Options& o) { o.auth.api_keys = keys; });
  auto client = server->client();
  const HeaderList ci_bearer = bearer("ci-key-0123456789abcdef");
  const HeaderList ci_header = {{"X-API-Key", "ci-key-0123456789abcdef"}};
  const auto session = open_with(client, ci_bearer);
  ASSERT_FALSE(session.empty());
  EXPECT_EQ(echo(client, session, ci_header).status, 200);  // the same principal, the other header
  EXPECT_EQ(echo(client, session, {{"X-API-Key", "ops-key-0123456789abcdef"}}).status, 404);
  expect_invalid_token(client.post(McpClient::initialize(1), {}, {{"X-API-Key", "guessed-key-0123456789"}}), "unknown API key");
  auto both = ci_bearer;
  both.insert(both.end(), ci_header.begin(), ci_header.end());
  EXPECT_EQ(client.post(McpClient::initialize(1), {}, both).status, 400);
  // OAuth still works beside the keys.
  EXPECT_FALSE(open_with(client, bearer(token())).empty());
  EXPECT_TRUE(logs_.wait_for("key ci"));
}

TEST_F(AuthHttpTest, TheLegacyTransportIsBoundToItsPrincipalToo) {
  auto server = start();
  StreamClient stream(server->port());
  ASSERT_TRUE(stream.send("GET", "/sse", {{"Accept", "text/event-stream"}, {"Authorization", "Bearer " + token()}}));
  ASSERT_EQ(stream.read_head(), 200);
  const auto endpoint = stream.next_event();
  ASSERT_TRUE(endpoint && endpoint->type == "endpoint");
  auto client = server->client();
  const auto path = endpoint->data;
  const auto post = [&](const std::string& who) {
    auto headers = McpClient::mcp_headers();
    headers.emplace_back("Authorization", "Bearer " + token(who));
    return client.send("POST", path, headers, McpClient::initialize(1, "2024-11-05").dump());
  };
  EXPECT_EQ(post("bob").status, 404);
  EXPECT_EQ(post("alice").status, 202);
}

// --- rate limits ---------------------------------------------------------------------------

class RateLimitHttpTest : public AuthHttpTest {
protected:
  ManualClock clock_;
};

TEST_F(RateLimitHttpTest, OverTheLimitGets429WithRetryAfterAndIsServedAfterIt) {
  auto server = start([&](Server::Options& o) {
    o.rate_limit.rate = "2/min";
    o.clock = &clock_;
  });
  auto client = server->client();
  const auto credentials = bearer(token());
  const auto session = open_with(client, credentials);  // charged: 1 (the notification is free)
  ASSERT_FALSE(session.empty());
  EXPECT_EQ(echo(client, session, credentials, 1).status, 200);  // 2
  const auto limited = echo(client, session, credentials, 2);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.header("Retry-After"), "30");
  expect_error_body(limited, -32000);
  // Retrying early is refused again and never pushes the time out.
  clock_.advance(10s);
  EXPECT_EQ(echo(client, session, credentials, 3).header("Retry-After"), "20");
  clock_.advance(20s);
  EXPECT_EQ(echo(client, session, credentials, 4).status, 200);
  // Another principal has a bucket of its own.
  EXPECT_FALSE(open_with(client, bearer(token("bob"))).empty());
  EXPECT_EQ(server->server().metrics().rate_limited.load(), 2U);
}

TEST_F(RateLimitHttpTest, ADrainingSessionsRefusalsAndNotificationsAreNeverCharged) {
  auto server = start([&](Server::Options& o) {
    o.rate_limit.rate = "3/min";
    o.clock = &clock_;
  });
  auto client = server->client();
  const auto credentials = bearer(token());
  const auto session = open_with(client, credentials);  // 1
  ASSERT_FALSE(session.empty());
  auto work = std::make_unique<StreamClient>(server->port());  // 2
  auto call_headers = McpClient::mcp_headers(session);
  call_headers.insert(call_headers.end(), credentials.begin(), credentials.end());
  ASSERT_TRUE(work->send("POST", "/mcp", call_headers, McpClient::tool_call(5, "gate", {{"name", "held"}}).dump()));
  ASSERT_EQ(work->read_head(), 200);
  ASSERT_TRUE(server->gates().wait_entered("held"));
  ASSERT_EQ(client.del(session, credentials).status, 200);  // DELETE is free
  ASSERT_EQ(server->server().session_state(session), SessionState::draining);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(echo(client, session, credentials, 10 + i).status, 503);
    // A draining session still takes notifications (a cancellation, say): accepted, not charged.
    EXPECT_EQ(client.post(McpClient::notification("notifications/progress"), session, credentials).status, 202);
  }
  EXPECT_EQ(echo(client, "no-such-session", credentials).status, 404);
  EXPECT_FALSE(open_with(client, credentials).empty());  // 3: none of the above was charged
  EXPECT_EQ(client.post(McpClient::initialize(9), {}, credentials).status, 429);
  server->gates().release("held");
  work->read_all();
}

TEST_F(RateLimitHttpTest, AuthlessClientsAreLimitedByAddressAndXForwardedForOnlyFromTrustedProxies) {
  const auto limited_server = [&](const std::string& trusted) {
    return std::make_unique<TestServer>(test_config(), nullptr, HttpOptions{}, [&](Server::Options& o) {
      o.rate_limit.rate = "1/h";
      o.rate_limit.trusted_proxies = trusted;
      o.clock = &clock_;
    });
  };
  {
    auto server = limited_server("");  // XFF ignored: both "clients" are 127.0.0.1
    auto client = server->client();
    EXPECT_EQ(client.post(McpClient::initialize(1), {}, {{"X-Forwarded-For", "198.51.100.1"}}).status, 200);
    EXPECT_EQ(client.post(McpClient::initialize(2), {}, {{"X-Forwarded-For", "198.51.100.2"}}).status, 429);
  }
  {
    auto server = limited_server("127.0.0.1/32");
    auto client = server->client();
    EXPECT_EQ(client.post(McpClient::initialize(1), {}, {{"X-Forwarded-For", "198.51.100.1"}}).status, 200);
    EXPECT_EQ(client.post(McpClient::initialize(2), {}, {{"X-Forwarded-For", "198.51.100.2"}}).status, 200);
    // A spoofed left-most entry does not buy a new bucket: the right-most untrusted one counts.
    EXPECT_EQ(client.post(McpClient::initialize(3), {}, {{"X-Forwarded-For", "203.0.113.9, 198.51.100.1"}}).status, 429);
  }
}

TEST_F(RateLimitHttpTest, UnauthenticatedAttemptsHaveABudgetPerAddress) {
  auto server = start([&](Server::Options& o) {
    o.rate_limit.unauthenticated_rate = "2/min";
    o.clock = &clock_;
  });
  auto client = server->client();
  EXPECT_EQ(client.post(McpClient::initialize(1)).status, 401);
  EXPECT_EQ(client.post(McpClient::initialize(2), {}, bearer("forged.token.value")).status, 401);
  const auto limited = client.post(McpClient::initialize(3), {}, bearer(token()));
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.header("Retry-After"), "30");
  clock_.advance(30s);
  EXPECT_FALSE(open_with(client, bearer(token())).empty());  // valid requests were never charged
}

// --- CORS ----------------------------------------------------------------------------------

TEST_F(AuthHttpTest, PreflightsFromAllowedOriginsAreAnsweredBeforeAuthenticationAndOthersAreRefused) {
  auto config = test_config();
  config.allowed_origins = {"https://app.example.test"};
  auto server = std::make_unique<TestServer>(config, nullptr, HttpOptions{}, [&](Server::Options& o) {
    o.auth.public_url = kResource;
    o.auth.issuers = {as_.issuer()};
  });
  auto client = server->client();
  const auto preflight = client.send("OPTIONS", "/mcp",
                                     {{"Origin", "https://app.example.test"},
                                      {"Access-Control-Request-Method", "POST"},
                                      {"Access-Control-Request-Headers", "authorization, content-type, mcp-protocol-version"}});
  EXPECT_EQ(preflight.status, 204);
  EXPECT_EQ(preflight.header("Access-Control-Allow-Origin"), "https://app.example.test");
  EXPECT_EQ(preflight.header("Access-Control-Allow-Methods"), "GET, POST, DELETE");
  EXPECT_EQ(preflight.header("Access-Control-Allow-Headers"), "authorization, content-type, mcp-protocol-version");
  EXPECT_EQ(preflight.header("Access-Control-Max-Age"), "600");
  EXPECT_FALSE(preflight.has_header("Access-Control-Allow-Credentials"));
  const auto refused = client.send("OPTIONS", "/mcp",
                                   {{"Origin", "https://evil.example.test"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(refused.status, 403);
  EXPECT_FALSE(refused.has_header("Access-Control-Allow-Origin"));
  // The 401 itself carries what a browser script needs to read it.
  const auto challenge = client.post(McpClient::initialize(1), {}, {{"Origin", "https://app.example.test"}});
  EXPECT_EQ(challenge.status, 401);
  EXPECT_EQ(challenge.header("Access-Control-Allow-Origin"), "https://app.example.test");
  EXPECT_EQ(challenge.header("Access-Control-Expose-Headers"),
            "Mcp-Session-Id, MCP-Protocol-Version, WWW-Authenticate, Retry-After");
  EXPECT_EQ(challenge.header("Vary"), "Origin");
  // Without an Origin (native clients, Claude's connector) no CORS header at all.
  EXPECT_FALSE(client.post(McpClient::initialize(2)).has_header("Access-Control-Allow-Origin"));
  // A plain OPTIONS that is no preflight is still a verb the endpoint does not serve.
  EXPECT_EQ(client.send("OPTIONS", "/mcp", {}).status, 405);
}

}  // namespace
}  // namespace graceway::test
