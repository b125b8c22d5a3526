#include "security/cors.hpp"

#include <cctype>

namespace graceway::security {
namespace {

// What MCP clients send beyond the CORS-safelisted headers.
constexpr std::string_view kAllowedHeaders =
    "Authorization, Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID, X-API-Key";
// Beyond the six readable by default: what a browser client must be able to read.
constexpr std::string_view kExposedHeaders = "Mcp-Session-Id, MCP-Protocol-Version, WWW-Authenticate, Retry-After";
// Browsers cap it anyway (Chromium at 2 hours); 10 minutes keeps a changed policy from lingering.
constexpr std::string_view kMaxAge = "600";

// A comma-separated list of header names (RFC 9110 tokens), nothing else.
bool is_header_list(std::string_view list) {
  if (list.empty() || list.size() > 1024) return false;
  bool in_name = false;
  for (const char c : list) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos) {
      in_name = true;
    } else if (c == ',' || c == ' ' || c == '\t') {
      if (c == ',') in_name = false;
    } else {
      return false;
    }
  }
  return in_name || list.find_first_not_of(", \t") != std::string_view::npos;
}

}  // namespace

HeaderList preflight_headers(std::string_view origin, std::string_view requested, std::string_view methods,
                             bool any_origin) {
  HeaderList out;
  out.emplace_back("Access-Control-Allow-Origin", any_origin ? std::string("*") : std::string(origin));
  out.emplace_back("Access-Control-Allow-Methods", std::string(methods));
  out.emplace_back("Access-Control-Allow-Headers", std::string(is_header_list(requested) ? requested : kAllowedHeaders));
  out.emplace_back("Access-Control-Max-Age", std::string(kMaxAge));
  // The answer depends on all three: a shared cache must not replay it for another request.
  out.emplace_back("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
  return out;
}

HeaderList response_headers(std::string_view origin, bool any_origin) {
  HeaderList out;
  out.emplace_back("Access-Control-Allow-Origin", any_origin ? std::string("*") : std::string(origin));
  out.emplace_back("Access-Control-Expose-Headers", std::string(kExposedHeaders));
  if (!any_origin) out.emplace_back("Vary", "Origin");
  return out;
}

}  // namespace graceway::security
