// Ban subjects: IPv6 sources count per /64, IPv4 per address (also IPv4-mapped), and what officers
// type to name a ban maps onto the same subjects.
#include "authz/ban_subject.h"

#include <gtest/gtest.h>

namespace bastion::authz {
namespace {

TEST(BanSubject, AnIpv4AddressIsItsOwnSubject) {
  EXPECT_EQ(source_subject("203.0.113.7"), "203.0.113.7");
  EXPECT_EQ(source_subject("127.0.0.1"), "127.0.0.1");
  EXPECT_EQ(source_subject("0.0.0.0"), "0.0.0.0");
}

TEST(BanSubject, AnIpv4MappedAddressIsTheIpv4Address) {
  EXPECT_EQ(source_subject("::ffff:203.0.113.7"), "203.0.113.7");
  EXPECT_EQ(source_subject("::FFFF:203.0.113.7"), "203.0.113.7");
  EXPECT_EQ(source_subject("::ffff:cb00:7107"), "203.0.113.7");  // the same address in hex groups
  EXPECT_EQ(source_subject("0:0:0:0:0:ffff:127.0.0.1"), "127.0.0.1");
}

TEST(BanSubject, AnIpv6AddressCountsAsItsSlash64) {
  EXPECT_EQ(source_subject("2001:db8:0:1:a:b:c:d"), "2001:db8:0:1::/64");
  EXPECT_EQ(source_subject("2001:db8:0:1::1"), "2001:db8:0:1::/64");
  EXPECT_EQ(source_subject("2001:db8::1"), "2001:db8::/64");
  EXPECT_EQ(source_subject("2001:DB8:0000:0000:ffff:ffff:ffff:ffff"), "2001:db8::/64");
  EXPECT_EQ(source_subject("2001:db8:1234:5678:9abc::1"), "2001:db8:1234:5678::/64");
}

TEST(BanSubject, TwoAddressesOfOneSlash64ShareTheSubjectNeighboursDoNot) {
  EXPECT_EQ(source_subject("2001:db8:0:1::1"), source_subject("2001:db8:0:1:ffff::2"));
  EXPECT_NE(source_subject("2001:db8:0:1::1"), source_subject("2001:db8:0:2::1"));
  EXPECT_NE(source_subject("2001:db8:0:1::1"), source_subject("2001:db9:0:1::1"));
}

TEST(BanSubject, LoopbackAndMappedLoopbackStayApart) {
  EXPECT_EQ(source_subject("::1"), "::/64");
  EXPECT_EQ(source_subject("::ffff:127.0.0.1"), "127.0.0.1");
  EXPECT_NE(source_subject("::1"), source_subject("127.0.0.1"));
}

TEST(BanSubject, TextThatIsNoAddressIsReturnedUnchanged) {
  EXPECT_EQ(source_subject(""), "");
  EXPECT_EQ(source_subject("alice"), "alice");
  EXPECT_EQ(source_subject("2001:db8::/64"), "2001:db8::/64");
  EXPECT_EQ(source_subject("fe80::1%eth0"), "fe80::1%eth0");  // peers are printed without a zone
  EXPECT_EQ(source_subject("1.2.3"), "1.2.3");
  EXPECT_EQ(source_subject(std::string("127.0.0.1\0x", 11)), std::string("127.0.0.1\0x", 11));
  const std::string long_text(4096, ':');
  EXPECT_EQ(source_subject(long_text), long_text);
}

TEST(BanSubject, OfficersNameABanByAnyAddressInItOrByItsPrefix) {
  for (const char* text : {"2001:db8::1", "2001:db8::/64", "2001:db8::ffff/64", "2001:DB8:0:0:1:2:3:4"}) {
    auto s = ban_subject_of(text);
    ASSERT_TRUE(s) << text << ": " << s.error().message;
    EXPECT_EQ(*s, "2001:db8::/64") << text;
  }
  for (const char* text : {"203.0.113.7", "203.0.113.7/32", "::ffff:203.0.113.7"}) {
    auto s = ban_subject_of(text);
    ASSERT_TRUE(s) << text << ": " << s.error().message;
    EXPECT_EQ(*s, "203.0.113.7") << text;
  }
}

TEST(BanSubject, AnAccountNameIsItsOwnSubject) {
  auto s = ban_subject_of("alice");
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, "alice");
}

TEST(BanSubject, PrefixesBansAreNeverPlacedOnAreRefusedWithWhy) {
  auto wide = ban_subject_of("2001:db8::/48");
  ASSERT_FALSE(wide);
  EXPECT_EQ(wide.error().message,
            "'2001:db8::/48': bans are placed per IPv6 /64 and per IPv4 address, never on a /48 (see `bans list`)");
  EXPECT_FALSE(ban_subject_of("203.0.113.0/24"));
  EXPECT_FALSE(ban_subject_of("2001:db8::/128"));
  for (const char* bad : {"2001:db8::/", "2001:db8::/x64", "/64", "alice/64", "2001:db8::/0064", "1.2.3.4/32/32"}) {
    EXPECT_FALSE(ban_subject_of(bad)) << bad;
  }
}

TEST(BanSubject, OnlyPrefixesAreNetworkSubjects) {
  EXPECT_TRUE(is_network_subject(source_subject("2001:db8::1")));
  EXPECT_FALSE(is_network_subject(source_subject("203.0.113.7")));
  EXPECT_FALSE(is_network_subject("alice"));
}

}  // namespace
}  // namespace bastion::authz
