#pragma once
// How much work one client may ask of graceway. A token bucket per principal (the API key's name
// or the token's issuer and subject; the client's address when unauthenticated) is charged for
// each request graceway admits, never for one it refuses; beyond it, 429 + Retry-After.
// Set Server::Options::rate_limit; main.cpp fills it from --rate-limit and friends.

#include <cstddef>
#include <string>
#include <vector>

namespace graceway {

struct RateLimitOptions {
  // "N/s", "N/min" or "N/h"; empty: no limit.
  std::string rate;
  // Requests a client may make at once after being idle; 0: N of `rate`.
  std::size_t burst = 0;
  // Before authentication, per client address: requests that carry no credentials or bad ones
  // (each costs a signature check or an introspection call). Empty: no limit.
  std::string unauthenticated_rate;
  // Peers whose X-Forwarded-For is believed ("10.0.0.0/8,127.0.0.1"); empty: nobody's.
  std::string trusted_proxies;
  // Buckets kept at most per limiter; past it, unknown clients are admitted untracked (counted).
  std::size_t max_clients = 100000;
};

// Problems with the options, one line each, naming the flag; empty when they are usable.
[[nodiscard]] std::vector<std::string> validate(const RateLimitOptions& options);

}  // namespace graceway
