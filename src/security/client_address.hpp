#pragma once
// Who a request comes from, for rate limiting before authentication (docs/security.md, "Rate limits"): the TCP
// peer, or, when the peer is a proxy we were told to trust, the right-most X-Forwarded-For hop that
// is not one of ours (nginx real_ip_recursive). The left-most entry is whatever the client wrote,
// so it is believed only when every hop after it is trusted.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace graceway::security {

namespace detail {
// An IP address as bytes. IPv4-mapped IPv6 (::ffff:a.b.c.d) is stored as the IPv4 address, so a
// dual-stack socket and an IPv4 one give the same client the same key.
struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};  // IPv4: the first 4
  bool v6 = false;
};
// A bare address: "10.1.2.3", "2001:db8::1", "fe80::1%eth0" (the zone is ignored). No brackets, no port.
[[nodiscard]] std::optional<IpAddress> parse_ip(std::string_view text);
// The canonical text (inet_ntop): lower-case, zeros compressed, IPv4 dotted.
[[nodiscard]] std::string to_string(const IpAddress& address);
}  // namespace detail

// A CIDR range: "10.0.0.0/8", "192.168.1.7" (/32), "::1/128", "fd00::/8", "::ffff:10.0.0.0/104"
// (= 10.0.0.0/8). Host bits set below the prefix ("10.1.2.3/8") are an error: in a trust list
// that is more likely a typo than a request for the whole /8.
class AddressRange {
public:
  [[nodiscard]] static std::optional<AddressRange> parse(std::string_view text, std::string& error);
  // False for anything that is not a bare address.
  [[nodiscard]] bool contains(std::string_view address) const;
  [[nodiscard]] bool contains(const detail::IpAddress& address) const;
  [[nodiscard]] std::string to_string() const;

private:
  // Only parse() makes one: a default range would be 0.0.0.0/0, which trusts every IPv4 address.
  AddressRange() = default;

  detail::IpAddress network_;  // host bits zero
  unsigned prefix_ = 0;        // in network_'s family: at most 32 for IPv4, 128 for IPv6
};

class TrustedProxies {
public:
  // "127.0.0.1/32,10.0.0.0/8"; whitespace around entries and empty entries are ignored, so the
  // empty string trusts nobody. The error names the first bad entry.
  [[nodiscard]] static std::optional<TrustedProxies> parse(std::string_view comma_separated, std::string& error);
  [[nodiscard]] bool trusts(std::string_view address) const;
  [[nodiscard]] bool trusts(const detail::IpAddress& address) const;
  [[nodiscard]] bool empty() const { return ranges_.empty(); }
  [[nodiscard]] const std::vector<AddressRange>& ranges() const { return ranges_; }

private:
  std::vector<AddressRange> ranges_;
};

// `peer` is the TCP peer's address (no port, IPv6 without brackets); `x_forwarded_for` every
// X-Forwarded-For header joined with ", ", empty when there is none. The answer is in canonical
// form (mapped IPv4 as dotted IPv4), or `peer` verbatim if it is not an address at all.
// A malformed entry stops the walk at the last hop we could believe: what lies left of it was
// written by someone we cannot vouch for.
[[nodiscard]] std::string client_address(std::string_view peer, std::string_view x_forwarded_for,
                                         const TrustedProxies& trusted);

// The bucket key for an address: IPv4 as is; IPv6 by its /64 ("2001:db8:1:2::/64"), because one
// subscriber usually holds a whole /64 and could otherwise take a fresh bucket per request.
[[nodiscard]] std::string rate_limit_key(std::string_view address);

}  // namespace graceway::security
