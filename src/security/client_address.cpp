#include "security/client_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace graceway::security {
namespace {

constexpr std::array<std::uint8_t, 12> kMappedPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// What inet_pton saw, before IPv4-mapped addresses are folded into IPv4: a range's prefix length
// counts in the family it was written in.
struct Raw {
  detail::IpAddress address;
  bool mapped = false;
};

std::optional<Raw> parse_raw(std::string_view text, bool allow_zone) {
  const bool v6 = text.find(':') != std::string_view::npos;
  if (v6 && allow_zone) {
    // Link-local peers come as "fe80::1%eth0"; the zone names our interface, not the client.
    text = text.substr(0, text.find('%'));
  }
  std::array<char, INET6_ADDRSTRLEN> buffer{};
  if (text.empty() || text.size() >= buffer.size()) return std::nullopt;
  std::copy(text.begin(), text.end(), buffer.begin());  // inet_pton wants a terminated string

  Raw raw;
  raw.address.v6 = v6;
  if (inet_pton(v6 ? AF_INET6 : AF_INET, buffer.data(), raw.address.bytes.data()) != 1) return std::nullopt;
  if (v6 && std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), raw.address.bytes.begin())) {
    raw.mapped = true;
    std::array<std::uint8_t, 16> v4{};
    std::copy_n(raw.address.bytes.begin() + 12, 4, v4.begin());
    raw.address.bytes = v4;
    raw.address.v6 = false;
  }
  return raw;
}

detail::IpAddress as_mapped(const detail::IpAddress& v4) {
  detail::IpAddress out;
  out.v6 = true;
  std::copy(kMappedPrefix.begin(), kMappedPrefix.end(), out.bytes.begin());
  std::copy_n(v4.bytes.begin(), 4, out.bytes.begin() + 12);
  return out;
}

// Keeps the first `prefix` bits.
detail::IpAddress masked(detail::IpAddress address, unsigned prefix) {
  for (unsigned bit = 0; bit < 128; bit += 8) {
    auto& byte = address.bytes.at(bit / 8);
    if (prefix <= bit) {
      byte = 0;
    } else if (prefix < bit + 8) {
      byte = static_cast<std::uint8_t>(byte & (0xff << (bit + 8 - prefix)));
    }
  }
  return address;
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// ":443" after an address.
bool valid_port_suffix(std::string_view suffix) {
  if (suffix.size() < 2 || suffix.front() != ':') return false;
  const std::string_view digits = suffix.substr(1);
  if (digits.size() > 5 || !all_digits(digits)) return false;
  unsigned port = 0;
  for (const char c : digits) port = port * 10 + static_cast<unsigned>(c - '0');
  return port <= 65535;
}

// One X-Forwarded-For entry: "1.2.3.4", "1.2.3.4:5678", "[2001:db8::1]:443", "[2001:db8::1]" or a
// bare IPv6 address (a bare IPv6 address with a port cannot be told apart, so it is read as an address).
std::optional<detail::IpAddress> parse_forwarded(std::string_view entry) {
  if (entry.front() == '[') {
    const auto close = entry.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view host = entry.substr(1, close - 1);
    const std::string_view rest = entry.substr(close + 1);
    if (host.find(':') == std::string_view::npos) return std::nullopt;  // brackets are for IPv6
    if (!rest.empty() && !valid_port_suffix(rest)) return std::nullopt;
    const auto raw = parse_raw(host, true);
    return raw ? std::optional(raw->address) : std::nullopt;
  }
  const auto colons = std::count(entry.begin(), entry.end(), ':');
  if (colons == 1) {
    const auto colon = entry.find(':');
    if (!valid_port_suffix(entry.substr(colon))) return std::nullopt;
    const auto raw = parse_raw(entry.substr(0, colon), false);
    return raw ? std::optional(raw->address) : std::nullopt;
  }
  const auto raw = parse_raw(entry, true);
  return raw ? std::optional(raw->address) : std::nullopt;
}

}  // namespace

namespace detail {

std::optional<IpAddress> parse_ip(std::string_view text) {
  const auto raw = parse_raw(text, true);
  return raw ? std::optional(raw->address) : std::nullopt;
}

std::string to_string(const IpAddress& address) {
  std::array<char, INET6_ADDRSTRLEN> buffer{};
  if (inet_ntop(address.v6 ? AF_INET6 : AF_INET, address.bytes.data(), buffer.data(),
                static_cast<socklen_t>(buffer.size())) == nullptr) {
    return {};
  }
  return buffer.data();
}

}  // namespace detail

std::optional<AddressRange> AddressRange::parse(std::string_view text, std::string& error) {
  const auto slash = text.find('/');
  const std::string_view host = text.substr(0, slash);
  const auto raw = parse_raw(host, false);
  if (!raw) {
    error = "address range \"" + std::string(text.substr(0, 64)) +
            "\" is not an IPv4 or IPv6 address or CIDR (e.g. 10.0.0.0/8, fd00::/8)";
    return std::nullopt;
  }
  const unsigned written_max = (raw->address.v6 || raw->mapped) ? 128 : 32;
  unsigned prefix = written_max;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    prefix = 0;
    if (digits.size() <= 3 && all_digits(digits)) {
      for (const char c : digits) prefix = prefix * 10 + static_cast<unsigned>(c - '0');
    }
    if (digits.size() > 3 || !all_digits(digits) || prefix > written_max) {
      error = "address range \"" + std::string(text.substr(0, 64)) + "\" needs a prefix length from 0 to " +
              std::to_string(written_max);
      return std::nullopt;
    }
  }

  AddressRange range;
  range.network_ = raw->address;
  range.prefix_ = prefix;
  if (raw->mapped && prefix < 96) {
    // Wider than the mapped block: keep it an IPv6 range; contains() maps IPv4 addresses into it.
    range.network_ = as_mapped(raw->address);
  } else if (raw->mapped) {
    range.prefix_ = prefix - 96;
  }
  const auto network = masked(range.network_, range.prefix_);
  if (network.bytes != range.network_.bytes) {
    error = "address range \"" + std::string(text.substr(0, 64)) + "\" has host bits set; did you mean " +
            detail::to_string(network) + "/" + std::to_string(range.prefix_) + "?";
    return std::nullopt;
  }
  return range;
}

bool AddressRange::contains(const detail::IpAddress& address) const {
  if (network_.v6 == address.v6) return masked(address, prefix_).bytes == network_.bytes;
  if (network_.v6) return masked(as_mapped(address), prefix_).bytes == network_.bytes;
  return false;  // an IPv4 range holds no native IPv6 address
}

bool AddressRange::contains(std::string_view address) const {
  const auto ip = detail::parse_ip(address);
  return ip && contains(*ip);
}

std::string AddressRange::to_string() const {
  return detail::to_string(network_) + "/" + std::to_string(prefix_);
}

std::optional<TrustedProxies> TrustedProxies::parse(std::string_view comma_separated, std::string& error) {
  TrustedProxies out;
  std::string_view rest = comma_separated;
  while (true) {
    const auto comma = rest.find(',');
    const std::string_view entry = trim(rest.substr(0, comma));
    if (!entry.empty()) {
      auto range = AddressRange::parse(entry, error);
      if (!range) return std::nullopt;
      out.ranges_.push_back(*range);
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

bool TrustedProxies::trusts(const detail::IpAddress& address) const {
  return std::any_of(ranges_.begin(), ranges_.end(), [&](const AddressRange& r) { return r.contains(address); });
}

bool TrustedProxies::trusts(std::string_view address) const {
  const auto ip = detail::parse_ip(address);
  return ip && trusts(*ip);
}

std::string client_address(std::string_view peer, std::string_view x_forwarded_for, const TrustedProxies& trusted) {
  const auto peer_ip = detail::parse_ip(peer);
  if (!peer_ip) return std::string(peer);
  detail::IpAddress believed = *peer_ip;  // the nearest hop so far that we trust to have told the truth
  if (!trusted.trusts(believed)) return detail::to_string(believed);

  // Right to left: each trusted proxy appended the address it saw; the first hop that is not
  // ours is the client, and anything further left is that client's say-so.
  std::string_view rest = x_forwarded_for;
  while (!rest.empty()) {
    const auto comma = rest.rfind(',');
    const std::string_view entry = trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(0, comma);
    if (entry.empty()) continue;  // HTTP lists allow empty elements
    const auto hop = parse_forwarded(entry);
    if (!hop) break;
    believed = *hop;
    if (!trusted.trusts(believed)) break;
  }
  return detail::to_string(believed);
}

std::string rate_limit_key(std::string_view address) {
  const auto ip = detail::parse_ip(address);
  if (!ip) return std::string(address);
  if (!ip->v6) return detail::to_string(*ip);
  return detail::to_string(masked(*ip, 64)) + "/64";
}

}  // namespace graceway::security
