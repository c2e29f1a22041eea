// The PROXY protocol v2 parser (gateway/proxy_protocol.h): headers as HAProxy sends them, and every
// way a header can lie; the trusted-range matching; read_header over a real socket pair.
#include "gateway/proxy_protocol.h"
#include "gateway/address_range.h"

#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

namespace bastion::gateway::proxy {
namespace {

const std::string kSig("\r\n\r\n\0\r\nQUIT\n", 12);

std::string u16(std::size_t v) { return {static_cast<char>((v >> 8) & 0xff), static_cast<char>(v & 0xff)}; }

// header: signature, version/command byte, family byte, then the payload with its length.
std::string header(unsigned char ver_cmd, unsigned char fam, const std::string& payload) {
  return kSig + std::string{static_cast<char>(ver_cmd), static_cast<char>(fam)} + u16(payload.size()) + payload;
}

// 203.0.113.7:51234 -> 192.0.2.1:22, as HAProxy sends it for a TCP/IPv4 client.
std::string ipv4_payload() {
  return std::string("\xcb\x00\x71\x07", 4) + std::string("\xc0\x00\x02\x01", 4) + u16(51234) + u16(22);
}

TEST(ProxyProtocol, ReadsAnIpv4ClientAsHaproxySendsIt) {
  auto h = parse_header(header(0x21, 0x11, ipv4_payload()));
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_FALSE(h->local);
  EXPECT_EQ(h->source_address, "203.0.113.7");
  EXPECT_EQ(h->source_port, 51234);
  EXPECT_EQ(h->destination_address, "192.0.2.1");
  EXPECT_EQ(h->destination_port, 22);
  EXPECT_EQ(h->tlvs, 0);
}

TEST(ProxyProtocol, ReadsAnIpv6Client) {
  std::string src(16, '\0'), dst(16, '\0');
  src[0] = '\x20', src[1] = '\x01', src[2] = '\x0d', src[3] = '\xb8', src[15] = '\x01';
  dst[15] = '\x01';
  auto h = parse_header(header(0x21, 0x21, src + dst + u16(40000) + u16(2222)));
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(h->source_address, "2001:db8::1");
  EXPECT_EQ(h->source_port, 40000);
  EXPECT_EQ(h->destination_address, "::1");
}

TEST(ProxyProtocol, SkipsTlvsThatFitAndRefusesOneThatOverruns) {
  const std::string tlvs = std::string("\x04", 1) + u16(0) + std::string("\x05", 1) + u16(3) + "abc";  // NOOP, UNIQUE_ID
  auto h = parse_header(header(0x21, 0x11, ipv4_payload() + tlvs));
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(h->source_address, "203.0.113.7");
  EXPECT_EQ(h->tlvs, 2);
  // A TLV announcing more than the header holds, and one cut in its own length field.
  EXPECT_FALSE(parse_header(header(0x21, 0x11, ipv4_payload() + "\x05" + u16(10) + "abc")));
  EXPECT_FALSE(parse_header(header(0x21, 0x11, ipv4_payload() + std::string("\x05\x00", 2))));
}

TEST(ProxyProtocol, LocalIsAHealthCheckWithoutAddress) {
  auto h = parse_header(header(0x20, 0x00, ""));
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_TRUE(h->local);
  EXPECT_EQ(h->source_address, "");
  // LOCAL may carry addresses (HAProxy's checks over IPv4): they are ignored.
  auto with_addr = parse_header(header(0x20, 0x11, ipv4_payload()));
  ASSERT_TRUE(with_addr);
  EXPECT_TRUE(with_addr->local);
  EXPECT_EQ(with_addr->source_address, "");
}

TEST(ProxyProtocol, RefusesWrongSignatureVersionCommandAndV1) {
  std::string bad_sig = header(0x21, 0x11, ipv4_payload());
  bad_sig[8] = 'X';
  EXPECT_NE(parse_header(bad_sig).error().message.find("signature"), std::string::npos);
  EXPECT_NE(parse_header(header(0x11, 0x11, ipv4_payload())).error().message.find("version 1"), std::string::npos);
  EXPECT_NE(parse_header(header(0x31, 0x11, ipv4_payload())).error().message.find("version 3"), std::string::npos);
  EXPECT_NE(parse_header(header(0x22, 0x11, ipv4_payload())).error().message.find("command"), std::string::npos);
  auto v1 = payload_length("PROXY TCP4 203.0.113.7 192.0.2.1 51234 22\r\n");
  ASSERT_FALSE(v1);
  EXPECT_NE(v1.error().message.find("v1"), std::string::npos);
}

TEST(ProxyProtocol, RefusesFamiliesWithoutAnInternetAddress) {
  EXPECT_FALSE(parse_header(header(0x21, 0x00, "")));                       // PROXY over AF_UNSPEC
  EXPECT_FALSE(parse_header(header(0x21, 0x31, std::string(216, 'u'))));   // AF_UNIX
  EXPECT_FALSE(parse_header(header(0x21, 0x12, ipv4_payload())));          // UDP over IPv4
  EXPECT_FALSE(parse_header(header(0x21, 0x41, ipv4_payload())));          // no such family
}

TEST(ProxyProtocol, RefusesLengthsThatLie) {
  // Shorter than the IPv4 addresses, shorter than IPv6 ones with an IPv4-sized block.
  EXPECT_FALSE(parse_header(header(0x21, 0x11, ipv4_payload().substr(0, 11))));
  EXPECT_FALSE(parse_header(header(0x21, 0x21, ipv4_payload())));
  // A length announcing more (or fewer) bytes than there are.
  std::string longer = header(0x21, 0x11, ipv4_payload());
  longer[15] = 13;
  EXPECT_FALSE(parse_header(longer));
  EXPECT_FALSE(parse_header(header(0x21, 0x11, ipv4_payload()) + "x"));
  // Truncated anywhere in the fixed part.
  const std::string whole = header(0x21, 0x11, ipv4_payload());
  for (std::size_t n = 0; n < whole.size(); ++n) EXPECT_FALSE(parse_header(whole.substr(0, n))) << n;
  // Over the cap: refused from the fixed part alone, before anything is buffered.
  std::string huge = kSig + "\x21\x11" + u16(kMaxPayload + 1);
  auto len = payload_length(huge);
  ASSERT_FALSE(len);
  EXPECT_NE(len.error().message.find("at most"), std::string::npos);
  EXPECT_EQ(*payload_length(kSig + "\x21\x11" + u16(kMaxPayload)), kMaxPayload);
}

TEST(ProxyProtocol, LooksLikeHeaderOnPrefixesOfEitherVersion) {
  EXPECT_TRUE(looks_like_header(kSig.substr(0, 1)));
  EXPECT_TRUE(looks_like_header(header(0x21, 0x11, ipv4_payload())));
  EXPECT_TRUE(looks_like_header("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"));
  EXPECT_TRUE(looks_like_header("PRO"));
  EXPECT_FALSE(looks_like_header("SSH-2.0-OpenSSH_9.2\r\n"));
  EXPECT_FALSE(looks_like_header(""));
}

TEST(AddressRange, MatchesIpv4Ipv6AndMappedAddresses) {
  auto ranges = parse_address_ranges({"127.0.0.1/32, 10.1.0.0/16", "2001:db8::/64", "192.0.2.9"}, "proxy-protocol-from");
  ASSERT_TRUE(ranges) << ranges.error().message;
  ASSERT_EQ(ranges->size(), 4u);
  EXPECT_TRUE(gateway::in_ranges(*ranges, "127.0.0.1"));
  EXPECT_FALSE(gateway::in_ranges(*ranges, "127.0.0.2"));
  EXPECT_TRUE(gateway::in_ranges(*ranges, "10.1.255.3"));
  EXPECT_FALSE(gateway::in_ranges(*ranges, "10.2.0.1"));
  EXPECT_TRUE(gateway::in_ranges(*ranges, "::ffff:10.1.0.1"));
  EXPECT_TRUE(gateway::in_ranges(*ranges, "2001:db8::7"));
  EXPECT_FALSE(gateway::in_ranges(*ranges, "2001:db8:0:1::7"));
  EXPECT_TRUE(gateway::in_ranges(*ranges, "192.0.2.9"));
  EXPECT_FALSE(gateway::in_ranges(*ranges, "not-an-address"));
  auto odd = parse_address_ranges({"10.0.0.0/12"}, "proxy-protocol-from");
  ASSERT_TRUE(odd);
  EXPECT_TRUE(gateway::in_ranges(*odd, "10.15.0.1"));
  EXPECT_FALSE(gateway::in_ranges(*odd, "10.16.0.1"));
  EXPECT_TRUE(gateway::in_ranges(*parse_address_ranges({"0.0.0.0/0"}, "proxy-protocol-from"), "198.51.100.1"));
  EXPECT_FALSE(gateway::in_ranges(*parse_address_ranges({"0.0.0.0/0"}, "proxy-protocol-from"), "::1"));
  for (const char* bad : {"10.0.0.0/33", "::/129", "example.com", "10.0.0.1/", "10.0.0.1/x"})
    EXPECT_FALSE(parse_address_ranges({std::string(bad)}, "proxy-protocol-from")) << bad;
  EXPECT_TRUE(parse_address_ranges({}, "proxy-protocol-from")->empty());
}

// read_header over a socket pair: reads the header and not a byte of the SSH that follows.
TEST(ProxyProtocol, ReadHeaderStopsAtTheEndOfTheHeader) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  const std::string sent = header(0x21, 0x11, ipv4_payload()) + "SSH-2.0-client\r\n";
  ASSERT_EQ(write(sv[0], sent.data(), sent.size()), static_cast<ssize_t>(sent.size()));
  auto h = read_header(sv[1], std::chrono::seconds(5));
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(h->source_address, "203.0.113.7");
  char rest[64] = {};
  EXPECT_EQ(read(sv[1], rest, sizeof rest), 16);
  EXPECT_EQ(std::string(rest, 16), "SSH-2.0-client\r\n");
  close(sv[0]);
  close(sv[1]);
}

TEST(ProxyProtocol, ReadHeaderRefusesTruncationAndTakesAnEmptyCloseForAProbe) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  const std::string cut = header(0x21, 0x11, ipv4_payload()).substr(0, 20);
  ASSERT_EQ(write(sv[0], cut.data(), cut.size()), static_cast<ssize_t>(cut.size()));
  close(sv[0]);
  auto h = read_header(sv[1], std::chrono::seconds(5));
  ASSERT_FALSE(h);
  EXPECT_NE(h.error().message.find("closed"), std::string::npos) << h.error().message;
  close(sv[1]);

  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  close(sv[0]);
  auto probe = read_header(sv[1], std::chrono::seconds(5));
  ASSERT_TRUE(probe) << probe.error().message;
  EXPECT_TRUE(probe->local);
  EXPECT_TRUE(probe->probe);
  close(sv[1]);
}

TEST(ProxyProtocol, ReadHeaderGivesUpAtTheDeadline) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ASSERT_EQ(write(sv[0], kSig.data(), 5), 5);  // a slow proxy that never finishes
  auto h = read_header(sv[1], std::chrono::milliseconds(100));
  ASSERT_FALSE(h);
  EXPECT_NE(h.error().message.find("deadline"), std::string::npos) << h.error().message;
  close(sv[0]);
  close(sv[1]);
}

TEST(ProxyProtocol, SniffSeesAForgedHeaderWithoutConsumingIt) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  const std::string forged = header(0x21, 0x11, ipv4_payload());
  ASSERT_EQ(write(sv[0], forged.data(), forged.size()), static_cast<ssize_t>(forged.size()));
  EXPECT_TRUE(sniff_forged(sv[1], std::chrono::milliseconds(1000)));
  char first = 0;
  ASSERT_EQ(read(sv[1], &first, 1), 1);
  EXPECT_EQ(first, '\r');
  close(sv[0]);
  close(sv[1]);

  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ASSERT_EQ(write(sv[0], "SSH-2.0-x\r\n", 11), 11);
  EXPECT_FALSE(sniff_forged(sv[1], std::chrono::milliseconds(1000)));
  close(sv[0]);
  close(sv[1]);
}

}  // namespace
}  // namespace bastion::gateway::proxy
