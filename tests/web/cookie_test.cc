#include "web/cookie.h"

#include <gtest/gtest.h>

namespace bastion::web {
namespace {

TEST(Cookie, FindsTheNamedCookieAmongOthers) {
  EXPECT_EQ(cookie_value("a=1; __Host-bastion=abc; b=2", "__Host-bastion"), "abc");
  EXPECT_EQ(cookie_value("__Host-bastion=abc", "__Host-bastion"), "abc");
  EXPECT_EQ(cookie_value("  x=\"quoted\" ;y=2", "x"), "quoted");
}

TEST(Cookie, ANameThatOnlyStartsOrEndsLikeTheOneAskedForIsNotIt) {
  EXPECT_FALSE(cookie_value("__Host-bastion-pre=abc", "__Host-bastion").has_value());
  EXPECT_FALSE(cookie_value("x__Host-bastion=abc", "__Host-bastion").has_value());
}

TEST(Cookie, MalformedHeadersGiveNothingRatherThanGarbage) {
  EXPECT_FALSE(cookie_value("", "a").has_value());
  EXPECT_FALSE(cookie_value(";;;", "a").has_value());
  EXPECT_FALSE(cookie_value("a", "a").has_value());
  EXPECT_EQ(cookie_value("a=", "a"), "");
  EXPECT_EQ(cookie_value("a=\"", "a"), "\"");
  EXPECT_EQ(cookie_value("a==b", "a"), "=b");
}

TEST(Cookie, TheFirstOfTwoCookiesOfOneNameWins) {
  EXPECT_EQ(cookie_value("a=1; a=2", "a"), "1");
}

}  // namespace
}  // namespace bastion::web
