#include "authz/web_session_policy.h"

#include <gtest/gtest.h>

namespace bastion::authz {
namespace {

using std::chrono::minutes;
const Seconds t0{std::chrono::seconds{1'800'000'000}};

TEST(WebSessionPolicy, GoesOnWithinFifteenMinutesOfTheLastRequest) {
  EXPECT_FALSE(web_session_ended(t0, t0, t0 + minutes(14) + std::chrono::seconds(59)).has_value());
}

TEST(WebSessionPolicy, EndsAfterFifteenMinutesWithoutARequest) {
  auto why = web_session_ended(t0, t0, t0 + minutes(15));
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("15 minutes"), std::string::npos) << *why;
}

TEST(WebSessionPolicy, EndsAtEightHoursEvenWhenUsedAMinuteAgo) {
  const Seconds now = t0 + std::chrono::hours(8);
  auto why = web_session_ended(t0, now - minutes(1), now);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("8 hours"), std::string::npos) << *why;
  EXPECT_FALSE(web_session_ended(t0, now - minutes(2), now - minutes(1)).has_value());
}

}  // namespace
}  // namespace bastion::authz
