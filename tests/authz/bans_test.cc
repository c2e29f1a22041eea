// The ban policy as a pure function: thresholds, escalation, ceiling, pardon by lift, windows.
#include "authz/bans.h"

#include <gtest/gtest.h>

namespace bastion::authz {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

const Seconds kNow = from_unix(1795428000);  // 2026-11-23 10:00:00 UTC

Ban ban(BanKind kind, int level, Seconds created, std::chrono::seconds length) {
  return Ban{1, kind, "203.0.113.7", created + length, level, "5 failed authentications within 15 minutes", created,
             {}, {}};
}

TEST(Bans, NoBanBelowTheSourceThreshold) {
  EXPECT_FALSE(next_ban(BanPolicy{}, BanKind::Source, "203.0.113.7", 4, std::nullopt, kNow));
}

TEST(Bans, FifthFailureBansASourceForThirtyMinutes) {
  auto b = next_ban(BanPolicy{}, BanKind::Source, "203.0.113.7", 5, std::nullopt, kNow);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->until, kNow + minutes(30));
  EXPECT_EQ(b->level, 1);
  EXPECT_EQ(b->reason, "5 failed authentications within 15 minutes");
}

TEST(Bans, EachFurtherBanOfASourceDoublesUpToADay) {
  BanPolicy p;
  std::optional<Ban> latest;
  Seconds t = kNow;
  std::vector<std::chrono::seconds> lengths;
  for (int i = 0; i < 8; ++i) {
    auto b = next_ban(p, BanKind::Source, "203.0.113.7", 5, latest, t);
    ASSERT_TRUE(b) << "ban " << i;
    lengths.push_back(b->until - t);
    latest = Ban{i + 1, b->kind, b->subject, b->until, b->level, b->reason, t, {}, {}};
    t = b->until + minutes(1);  // the next round of failures right after it ends
  }
  std::vector<std::chrono::seconds> want = {minutes(30), hours(1), hours(2), hours(4), hours(8), hours(16), hours(24),
                                            hours(24)};
  EXPECT_EQ(lengths, want);
}

TEST(Bans, NoNewBanWhileOneIsInForce) {
  auto current = ban(BanKind::Source, 1, kNow - minutes(5), minutes(30));
  EXPECT_FALSE(next_ban(BanPolicy{}, BanKind::Source, "203.0.113.7", 50, current, kNow));
}

TEST(Bans, ALiftedBanIsAPardonTheNextStartsAtLevelOne) {
  auto lifted = ban(BanKind::Source, 3, kNow - hours(1), hours(2));
  lifted.lifted_by = "olivia";
  lifted.lifted_at = kNow - minutes(30);
  auto b = next_ban(BanPolicy{}, BanKind::Source, "203.0.113.7", 5, lifted, kNow);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->level, 1);
  EXPECT_EQ(b->until, kNow + minutes(30));
}

TEST(Bans, EscalationIsForgottenADayAfterTheLastBanEnded) {
  auto old = ban(BanKind::Source, 4, kNow - hours(40), hours(8));  // ended 32 h ago
  auto b = next_ban(BanPolicy{}, BanKind::Source, "203.0.113.7", 5, old, kNow);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->level, 1);
}

TEST(Bans, AccountLocksForAnHourAfterTenFailures) {
  EXPECT_FALSE(next_ban(BanPolicy{}, BanKind::Account, "alice", 9, std::nullopt, kNow));
  auto b = next_ban(BanPolicy{}, BanKind::Account, "alice", 10, std::nullopt, kNow);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->until, kNow + hours(1));
  EXPECT_EQ(b->reason, "10 failed authentications within 1 hour");
  // Account locks do not escalate.
  Ban previous{1, BanKind::Account, "alice", kNow - minutes(1), 1, b->reason, kNow - hours(1) - minutes(1), {}, {}};
  auto again = next_ban(BanPolicy{}, BanKind::Account, "alice", 10, previous, kNow);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->until, kNow + hours(1));
}

TEST(Bans, FailuresCountFromTheWindowOrTheEndOfTheLastBan) {
  BanPolicy p;
  EXPECT_EQ(counting_since(p, BanKind::Source, std::nullopt, kNow), kNow - minutes(15));
  EXPECT_EQ(counting_since(p, BanKind::Account, std::nullopt, kNow), kNow - hours(1));
  auto recent = ban(BanKind::Source, 1, kNow - minutes(35), minutes(30));  // ended 5 minutes ago
  EXPECT_EQ(counting_since(p, BanKind::Source, recent, kNow), kNow - minutes(5));
}

TEST(Bans, RefusalSaysWhatUntilWhenAndHowToLiftIt) {
  auto b = ban(BanKind::Account, 1, kNow, hours(1));
  b.subject = "alice";
  EXPECT_EQ(refusal_text(b),
            "account alice is locked until 2026-11-23 11:00:00 UTC after 5 failed authentications within 15 minutes; "
            "a security officer can lift it with `bans lift alice`");
}

TEST(Bans, RefusalNamesAnIpv6BanAsTheNetworkItCovers) {
  auto b = ban(BanKind::Source, 1, kNow, minutes(30));
  b.subject = "2001:db8::/64";
  EXPECT_EQ(refusal_text(b),
            "network 2001:db8::/64 is banned until 2026-11-23 10:30:00 UTC after 5 failed authentications within 15 "
            "minutes; a security officer can lift it with `bans lift 2001:db8::/64`");
}

}  // namespace
}  // namespace bastion::authz
