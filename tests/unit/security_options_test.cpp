// The checks of the security options and the pure pieces around the authenticator: the API key
// file, --public-url and issuer URLs, what http(s) URLs the fetcher accepts, CORS headers.

#include <gtest/gtest.h>

#include "graceway/auth_options.hpp"
#include "graceway/rate_limit_options.hpp"
#include "security/cors.hpp"
#include "security/http_fetch.hpp"

namespace graceway {
namespace {

bool mentions(const std::vector<std::string>& problems, std::string_view part) {
  for (const auto& p : problems) {
    if (p.find(part) != std::string::npos) return true;
  }
  return false;
}

TEST(SecurityOptionsTest, ApiKeyFilesAreReadLineByLineWithNumberedErrors) {
  std::vector<std::string> errors;
  const auto line = api_key_line("ci", "a-key-long-enough-1234");
  EXPECT_EQ(line.size(), 2U + 1U + 64U);
  const auto keys = parse_api_keys("# keys\n\n" + line + "\r\nops 1234\nci " + std::string(64, 'a') +
                                       "\nextra " + std::string(64, 'b') + " more\n" + "x " + std::string(64, 'g') + "\n",
                                   errors);
  ASSERT_EQ(keys.size(), 1U);
  EXPECT_EQ(keys[0].name, "ci");
  ASSERT_EQ(errors.size(), 4U);
  EXPECT_TRUE(errors[0].starts_with("line 4: the hash must be 64 hex digits")) << errors[0];
  EXPECT_TRUE(errors[1].starts_with("line 5: the name 'ci' is used twice")) << errors[1];
  EXPECT_TRUE(errors[2].starts_with("line 6: expected NAME SHA256HEX")) << errors[2];
  EXPECT_TRUE(errors[3].starts_with("line 7: the hash must be 64 hex digits")) << errors[3];
}

TEST(SecurityOptionsTest, OptionsThatCannotWorkAreRefusedNamingTheirFlag) {
  AuthOptions oauth;
  oauth.issuers = {"https://auth.example.test"};
  EXPECT_TRUE(mentions(validate(oauth), "--public-url is required"));
  oauth.public_url = "https://mcp.example.test/mcp/";
  EXPECT_TRUE(mentions(validate(oauth), "must not end with '/'"));
  oauth.public_url = "https://mcp.example.test/mcp?x=1";
  EXPECT_TRUE(mentions(validate(oauth), "without query or fragment"));
  oauth.public_url = "https://mcp.example.test/mcp";
  EXPECT_TRUE(validate(oauth).empty());
  oauth.issuers = {"http://auth.example.test"};
  EXPECT_TRUE(mentions(validate(oauth), "--auth-issuer http://auth.example.test: must be https://"));
  oauth.issuers = {"http://127.0.0.1:9000"};
  oauth.introspection_client_id = "graceway";
  EXPECT_TRUE(mentions(validate(oauth), "needs a secret"));
  AuthOptions jwks_only;
  jwks_only.public_url = "https://mcp.example.test/mcp";
  jwks_only.jwks = "/etc/graceway/jwks.json";
  EXPECT_TRUE(mentions(validate(jwks_only), "--auth-issuer is required"));

  RateLimitOptions limits;
  limits.rate = "10 per second";
  limits.trusted_proxies = "10.0.0.0/33";
  EXPECT_TRUE(mentions(validate(limits), "--rate-limit:"));
  EXPECT_TRUE(mentions(validate(limits), "--trusted-proxies:"));
}

TEST(SecurityOptionsTest, PlainHttpIsFetchedFromLoopbackAddressesOnly) {
  std::string why;
  EXPECT_TRUE(security::parse_fetch_url("http://127.0.0.1:8080/jwks", why));
  EXPECT_TRUE(security::parse_fetch_url("http://[::1]:8080/jwks", why));
  EXPECT_TRUE(security::parse_fetch_url("http://localhost/jwks", why));
  EXPECT_FALSE(security::parse_fetch_url("http://127.evil.example/jwks", why));
  EXPECT_EQ(why, "must be https:// unless its host is loopback");
  const auto tls = security::parse_fetch_url("https://auth.example.test/.well-known/jwks.json?v=2", why);
  ASSERT_TRUE(tls);
  EXPECT_EQ(tls->port, "443");
  EXPECT_EQ(tls->target, "/.well-known/jwks.json?v=2");
  EXPECT_FALSE(security::parse_fetch_url("https://user:pw@auth.example.test/", why));
  EXPECT_FALSE(security::parse_fetch_url("https://auth.example.test:99999/", why));
  EXPECT_FALSE(security::parse_fetch_url("ftp://auth.example.test/", why));
}

TEST(SecurityOptionsTest, PreflightsReflectWellFormedHeaderListsOnly) {
  const auto find = [](const security::HeaderList& headers, const std::string& name) {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return std::string("(absent)");
  };
  const auto reflected = security::preflight_headers("https://app.example", "mcp-param-region, authorization",
                                                     "GET, POST, DELETE", false);
  EXPECT_EQ(find(reflected, "Access-Control-Allow-Headers"), "mcp-param-region, authorization");
  EXPECT_EQ(find(reflected, "Access-Control-Allow-Origin"), "https://app.example");
  const auto fixed = security::preflight_headers("https://app.example", "x\r\ninjected: 1", "GET, POST, DELETE", false);
  EXPECT_EQ(find(fixed, "Access-Control-Allow-Headers"),
            "Authorization, Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID, X-API-Key");
  const auto any = security::response_headers("https://app.example", true);
  EXPECT_EQ(find(any, "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(find(any, "Vary"), "(absent)");
}

}  // namespace
}  // namespace graceway
