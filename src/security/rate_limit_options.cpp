#include "graceway/rate_limit_options.hpp"

#include "security/client_address.hpp"
#include "security/rate_limiter.hpp"

namespace graceway {

std::vector<std::string> validate(const RateLimitOptions& options) {
  std::vector<std::string> problems;
  std::string why;
  if (!options.rate.empty() && !security::parse_rate(options.rate, why)) problems.push_back("--rate-limit: " + why);
  if (!options.unauthenticated_rate.empty() && !security::parse_rate(options.unauthenticated_rate, why)) {
    problems.push_back("--rate-limit-unauthenticated: " + why);
  }
  if (!security::TrustedProxies::parse(options.trusted_proxies, why)) problems.push_back("--trusted-proxies: " + why);
  if (options.max_clients == 0) problems.emplace_back("--rate-limit-clients must be at least 1");
  return problems;
}

}  // namespace graceway
