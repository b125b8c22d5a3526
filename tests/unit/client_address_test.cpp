// Who a request comes from: CIDR ranges, the trusted-proxy list, the right-to-left
// X-Forwarded-For walk, and the bucket key (IPv6 by /64).

#include <gtest/gtest.h>

#include <string>

#include "security/client_address.hpp"

namespace graceway::security {
namespace {

AddressRange range(std::string_view text) {
  std::string error;
  auto parsed = AddressRange::parse(text, error);
  EXPECT_TRUE(parsed) << text << ": " << error;
  // There is no default range to fall back on; a failed parse leaves one that holds a single address.
  return parsed ? *parsed : *AddressRange::parse("255.255.255.255", error);
}

TrustedProxies proxies(std::string_view text) {
  std::string error;
  auto parsed = TrustedProxies::parse(text, error);
  EXPECT_TRUE(parsed) << text << ": " << error;
  return parsed.value_or(TrustedProxies{});
}

TEST(AddressRangeTest, Ipv4Ranges) {
  const auto eight = range("10.0.0.0/8");
  EXPECT_TRUE(eight.contains("10.0.0.0"));
  EXPECT_TRUE(eight.contains("10.255.255.255"));
  EXPECT_FALSE(eight.contains("11.0.0.0"));
  EXPECT_FALSE(eight.contains("9.255.255.255"));
  EXPECT_FALSE(eight.contains("::1"));
  EXPECT_FALSE(eight.contains("10.0.0.1:80"));  // an address, not an entry with a port
  EXPECT_FALSE(eight.contains(""));

  const auto host = range("192.168.1.7");
  EXPECT_TRUE(host.contains("192.168.1.7"));
  EXPECT_FALSE(host.contains("192.168.1.8"));
  EXPECT_EQ(host.to_string(), "192.168.1.7/32");

  const auto odd = range("172.16.0.0/12");
  EXPECT_TRUE(odd.contains("172.31.255.255"));
  EXPECT_FALSE(odd.contains("172.32.0.0"));

  const auto everything = range("0.0.0.0/0");
  EXPECT_TRUE(everything.contains("1.2.3.4"));
  EXPECT_FALSE(everything.contains("2001:db8::1"));
}

TEST(AddressRangeTest, Ipv6Ranges) {
  const auto loopback = range("::1/128");
  EXPECT_TRUE(loopback.contains("::1"));
  EXPECT_TRUE(loopback.contains("0:0:0:0:0:0:0:1"));
  EXPECT_FALSE(loopback.contains("::2"));
  EXPECT_FALSE(loopback.contains("127.0.0.1"));

  const auto ula = range("fd00::/8");
  EXPECT_TRUE(ula.contains("fd12:3456::1"));
  EXPECT_TRUE(ula.contains("FD00::"));
  EXPECT_FALSE(ula.contains("fe00::1"));
  EXPECT_FALSE(ula.contains("10.0.0.1"));
  EXPECT_EQ(ula.to_string(), "fd00::/8");

  const auto link_local = range("fe80::/10");
  EXPECT_TRUE(link_local.contains("fe80::1%eth0"));  // the zone is ours, not the client's
  EXPECT_TRUE(link_local.contains("febf::1"));
  EXPECT_FALSE(link_local.contains("fec0::1"));
}

TEST(AddressRangeTest, MappedIpv4IsIpv4) {
  const auto eight = range("10.0.0.0/8");
  EXPECT_TRUE(eight.contains("::ffff:10.1.2.3"));
  EXPECT_TRUE(eight.contains("::FFFF:a01:203"));
  EXPECT_FALSE(eight.contains("::ffff:11.1.2.3"));

  const auto mapped_range = range("::ffff:10.0.0.0/104");
  EXPECT_EQ(mapped_range.to_string(), "10.0.0.0/8");
  EXPECT_TRUE(mapped_range.contains("10.9.9.9"));
  EXPECT_TRUE(mapped_range.contains("::ffff:10.9.9.9"));
  EXPECT_FALSE(mapped_range.contains("11.0.0.0"));

  const auto mapped_host = range("::ffff:127.0.0.1");
  EXPECT_TRUE(mapped_host.contains("127.0.0.1"));
  EXPECT_EQ(mapped_host.to_string(), "127.0.0.1/32");

  // An IPv6 range wider than the mapped block still covers IPv4 clients, through their mapped form.
  const auto all_v6 = range("::/0");
  EXPECT_TRUE(all_v6.contains("2001:db8::1"));
  EXPECT_TRUE(all_v6.contains("1.2.3.4"));
  EXPECT_TRUE(range("::ffff:0:0/96").contains("203.0.113.1"));
  EXPECT_FALSE(range("2001:db8::/32").contains("203.0.113.1"));
}

TEST(AddressRangeTest, RefusesMalformedRanges) {
  for (const char* bad : {"", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/8/8",
                          "10.0.0.0/ 8", " 10.0.0.0/8", "10.0.0/8", "010.0.0.0/8", "10.0.0.256", "::1/129",
                          "::1/0128", "fe80::1%eth0", "banana", "[::1]", "10.0.0.1:80", "::ffff:10.0.0.0/129",
                          "10.1.2.3/8", "fd00::1/8"}) {
    std::string error;
    EXPECT_FALSE(AddressRange::parse(bad, error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
    EXPECT_EQ(error.find('\n'), std::string::npos) << bad;
  }
  std::string error;
  EXPECT_FALSE(AddressRange::parse("10.1.2.3/8", error));
  EXPECT_NE(error.find("10.0.0.0/8"), std::string::npos) << error;  // suggests the network
}

TEST(TrustedProxiesTest, ParsesAList) {
  const auto list = proxies("127.0.0.1/32,10.0.0.0/8");
  EXPECT_FALSE(list.empty());
  EXPECT_EQ(list.ranges().size(), 2U);
  EXPECT_TRUE(list.trusts("127.0.0.1"));
  EXPECT_TRUE(list.trusts("10.20.30.40"));
  EXPECT_TRUE(list.trusts("::ffff:10.20.30.40"));
  EXPECT_FALSE(list.trusts("127.0.0.2"));
  EXPECT_FALSE(list.trusts("not an address"));

  const auto spaced = proxies(" ::1/128 , fd00::/8 ,");
  EXPECT_EQ(spaced.ranges().size(), 2U);
  EXPECT_TRUE(spaced.trusts("::1"));
  EXPECT_TRUE(spaced.trusts("fd00::5"));
}

TEST(TrustedProxiesTest, EmptyTrustsNobody) {
  for (const char* text : {"", " ", ",", " , "}) {
    const auto list = proxies(text);
    EXPECT_TRUE(list.empty()) << text;
    EXPECT_FALSE(list.trusts("127.0.0.1")) << text;
  }
  EXPECT_TRUE(TrustedProxies{}.empty());
}

TEST(TrustedProxiesTest, NamesTheBadEntry) {
  std::string error;
  EXPECT_FALSE(TrustedProxies::parse("10.0.0.0/8,10.0.0.0/99", error));
  EXPECT_NE(error.find("10.0.0.0/99"), std::string::npos) << error;
  EXPECT_FALSE(TrustedProxies::parse("10.0.0.0/8 127.0.0.1", error));  // commas, not spaces
}

class ClientAddressTest : public ::testing::Test {
protected:
  TrustedProxies trusted = proxies("10.0.0.0/8, 127.0.0.1, fd00::/8");
};

TEST_F(ClientAddressTest, UntrustedPeerIgnoresForwardedFor) {
  EXPECT_EQ(client_address("203.0.113.5", "1.2.3.4", trusted), "203.0.113.5");
  EXPECT_EQ(client_address("203.0.113.5", "10.0.0.1", trusted), "203.0.113.5");
  EXPECT_EQ(client_address("2001:db8::5", "1.2.3.4", trusted), "2001:db8::5");
  EXPECT_EQ(client_address("203.0.113.5", "1.2.3.4", TrustedProxies{}), "203.0.113.5");
  EXPECT_EQ(client_address("10.0.0.1", "1.2.3.4", TrustedProxies{}), "10.0.0.1");
}

TEST_F(ClientAddressTest, NoForwardedForIsThePeer) {
  EXPECT_EQ(client_address("10.0.0.1", "", trusted), "10.0.0.1");
  EXPECT_EQ(client_address("10.0.0.1", "  ", trusted), "10.0.0.1");
}

TEST_F(ClientAddressTest, RightMostUntrustedIsTheClient) {
  EXPECT_EQ(client_address("10.0.0.1", "198.51.100.7", trusted), "198.51.100.7");
  EXPECT_EQ(client_address("10.0.0.1", "198.51.100.7, 203.0.113.9, 10.0.0.2", trusted), "203.0.113.9");
  EXPECT_EQ(client_address("127.0.0.1", "203.0.113.9,10.1.1.1,fd00::7", trusted), "203.0.113.9");
}

TEST_F(ClientAddressTest, SpoofedLeftMostIsIgnored) {
  // The client sent "X-Forwarded-For: 1.1.1.1"; our proxy appended the address it really saw.
  EXPECT_EQ(client_address("10.0.0.1", "1.1.1.1, 203.0.113.9", trusted), "203.0.113.9");
  // A client claiming to be one of our proxies does not get to pick the address left of that.
  EXPECT_EQ(client_address("10.0.0.1", "1.1.1.1, 10.0.0.9, 203.0.113.9", trusted), "203.0.113.9");
}

TEST_F(ClientAddressTest, AllTrustedIsTheLeftMost) {
  EXPECT_EQ(client_address("10.0.0.1", "10.0.0.3, 10.0.0.2", trusted), "10.0.0.3");
  EXPECT_EQ(client_address("10.0.0.1", "127.0.0.1", trusted), "127.0.0.1");
}

TEST_F(ClientAddressTest, MalformedEntryStopsAtTheLastTrustedHop) {
  EXPECT_EQ(client_address("10.0.0.1", "203.0.113.9, garbage, 10.0.0.2", trusted), "10.0.0.2");
  EXPECT_EQ(client_address("10.0.0.1", "garbage", trusted), "10.0.0.1");
  EXPECT_EQ(client_address("10.0.0.1", "unknown", trusted), "10.0.0.1");
  EXPECT_EQ(client_address("10.0.0.1", "203.0.113.9, 10.0.0.2 10.0.0.3", trusted), "10.0.0.1");
  EXPECT_EQ(client_address("10.0.0.1", "203.0.113.9, 10.0.0.2:99999", trusted), "10.0.0.1");
  EXPECT_EQ(client_address("10.0.0.1", "203.0.113.9, [2001:db8::1", trusted), "10.0.0.1");
  EXPECT_EQ(client_address("10.0.0.1", "203.0.113.9, [10.0.0.2]:80", trusted), "10.0.0.1");
  EXPECT_EQ(client_address("10.0.0.1", "203.0.113.9, [2001:db8::1]x", trusted), "10.0.0.1");
  EXPECT_EQ(client_address("10.0.0.1", "203.0.113.9, 10.0.0.2:", trusted), "10.0.0.1");
  EXPECT_EQ(client_address("10.0.0.1", "203.0.113.9, \"10.0.0.2\"", trusted), "10.0.0.1");
}

TEST_F(ClientAddressTest, PortsAndBrackets) {
  EXPECT_EQ(client_address("10.0.0.1", "203.0.113.9:5678", trusted), "203.0.113.9");
  EXPECT_EQ(client_address("10.0.0.1", "[2001:db8::1]:443", trusted), "2001:db8::1");
  EXPECT_EQ(client_address("10.0.0.1", "[2001:db8::1]", trusted), "2001:db8::1");
  EXPECT_EQ(client_address("10.0.0.1", "2001:DB8:0:0::1", trusted), "2001:db8::1");
  EXPECT_EQ(client_address("10.0.0.1", "203.0.113.9, 10.0.0.2:8080, [fd00::1]:1", trusted), "203.0.113.9");
  // Several headers joined with ", ", tabs and empty list elements.
  EXPECT_EQ(client_address("10.0.0.1", "198.51.100.1,\t203.0.113.9 , ,10.0.0.2", trusted), "203.0.113.9");
}

TEST_F(ClientAddressTest, MappedAndIpv6Peers) {
  EXPECT_EQ(client_address("::ffff:10.0.0.1", "203.0.113.9", trusted), "203.0.113.9");
  EXPECT_EQ(client_address("::ffff:203.0.113.5", "1.2.3.4", trusted), "203.0.113.5");
  EXPECT_EQ(client_address("fd00::2", "::ffff:198.51.100.4", trusted), "198.51.100.4");
  EXPECT_EQ(client_address("fd00::2", "2001:db8::9, ::ffff:10.0.0.7", trusted), "2001:db8::9");
}

TEST_F(ClientAddressTest, UnparseablePeerIsReturnedAsIs) {
  EXPECT_EQ(client_address("not-an-ip", "203.0.113.9", trusted), "not-an-ip");
  EXPECT_EQ(client_address("", "203.0.113.9", trusted), "");
}

TEST(RateLimitKeyTest, Ipv4AsIs) {
  EXPECT_EQ(rate_limit_key("203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(rate_limit_key("::ffff:203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(rate_limit_key("::FFFF:cb00:7109"), "203.0.113.9");
}

TEST(RateLimitKeyTest, Ipv6ByItsSlash64) {
  EXPECT_EQ(rate_limit_key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  EXPECT_EQ(rate_limit_key("2001:db8:1:2::ffff"), "2001:db8:1:2::/64");
  EXPECT_EQ(rate_limit_key("2001:DB8:1:2:aaaa::1"), rate_limit_key("2001:db8:1:2:bbbb::2"));
  EXPECT_NE(rate_limit_key("2001:db8:1:2::1"), rate_limit_key("2001:db8:1:3::1"));
  EXPECT_EQ(rate_limit_key("::1"), "::/64");
  EXPECT_EQ(rate_limit_key("fe80::1%eth0"), "fe80::/64");
}

TEST(RateLimitKeyTest, UnparseableIsKeptAsIs) {
  EXPECT_EQ(rate_limit_key("not-an-ip"), "not-an-ip");
  EXPECT_EQ(rate_limit_key(""), "");
}

TEST(RateLimitKeyTest, EndToEndBehindAProxy) {
  const auto trusted = proxies("10.0.0.0/8");
  EXPECT_EQ(rate_limit_key(client_address("10.0.0.1", "1.1.1.1, [2001:db8:a:b:c::d]:443", trusted)),
            "2001:db8:a:b::/64");
}

}  // namespace
}  // namespace graceway::security
