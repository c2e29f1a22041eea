// gateway/notifier.cc: the webhook URL the daemon accepts and the signature it sends (delivery
// itself is tested end to end against a real receiver: tests/e2e/request_notify_test.cc).
#include "gateway/notifier.h"

#include <gtest/gtest.h>

namespace bastion::gateway {
namespace {

TEST(NotifierSignature, IsHmacSha256AsRfc4231Case2) {
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(NotifierUrl, AcceptsHttpHostPortAndPath) {
  auto u = parse_http_url("http://127.0.0.1:8080/hooks/bastion?x=1");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->path, "/hooks/bastion?x=1");
  auto bare = parse_http_url("http://relay.example");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->port, 80);
  EXPECT_EQ(bare->path, "/");
}

TEST(NotifierUrl, RefusesHttpsOddHostsPortsAndPaths) {
  EXPECT_NE(parse_http_url("https://x/").error().message.find("https is not supported"), std::string::npos);
  for (const char* bad : {"", "ftp://x/", "http://", "http://:80/", "http://a b/", "http://u@h/", "http://h:0/",
                          "http://h:65536/", "http://h:8o/", "http://h:/", "http://h/a b", "http://h/\x1b[2J",
                          "http://[::1]:80/"}) {
    EXPECT_FALSE(parse_http_url(bad)) << bad;
  }
}

}  // namespace
}  // namespace bastion::gateway
