// bans list | lift over the real store, event log and a FixedClock; bans placed the way the
// daemon places them (note_failure_recorded), so their ban.* events are in the chain too.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/gateway/admin_fixture.h"
#include "gateway/bans.h"

namespace bastion::gateway::admin::testing {
namespace {

using ::testing::HasSubstr;

class BanCommands : public AdminFixture {
 protected:
  void fail(int n, const std::string& source, const std::string& account) {
    audit::EventSinks quiet;
    quiet.auth_failure_lines = false;
    for (int i = 0; i < n; ++i) {
      note_failure_recorded(db_, quiet, authz::BanPolicy{}, source, account, clock_.now());
      clock_.advance(std::chrono::seconds(1));
    }
  }
};

TEST_F(BanCommands, PlacingABanIsAnAuditEvent) {
  fail(10, "203.0.113.7", "alice");
  auto source = events_of("ban.source");
  ASSERT_EQ(source.size(), 1u);
  EXPECT_EQ(source[0].event.source, "203.0.113.7");
  EXPECT_EQ(source[0].event.details.at("subject"), "203.0.113.7");
  EXPECT_EQ(source[0].event.details.at("until"), "2026-11-23 10:30:04 UTC");
  auto account = events_of("ban.account");
  ASSERT_EQ(account.size(), 1u);
  EXPECT_EQ(account[0].event.details.at("subject"), "alice");
}

TEST_F(BanCommands, ListShowsBansInForceAndJsonGivesEveryField) {
  ASSERT_EQ(run({"bans", "list"}), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), "no bans in force\n");
  fail(5, "203.0.113.7", "alice");
  ASSERT_EQ(run({"bans", "list"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("source 203.0.113.7  until 2026-11-23 10:30:04 UTC  level 1  in force"));
  ASSERT_EQ(run({"bans", "list", "--json"}), kExitOk) << err_.str();
  auto rows = Json::parse(out_.str());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].at("kind"), "source");
  EXPECT_EQ(rows[0].at("subject"), "203.0.113.7");
  EXPECT_EQ(rows[0].at("until"), "2026-11-23T10:30:04Z");
  EXPECT_EQ(rows[0].at("active"), true);
  EXPECT_TRUE(rows[0].at("lifted_by").is_null());
}

TEST_F(BanCommands, ExpiredBansLeaveTheListButStayInTheHistory) {
  fail(5, "203.0.113.7", "");
  clock_.advance(std::chrono::minutes(31));
  ASSERT_EQ(run({"bans", "list", "--json"}), kExitOk) << err_.str();
  EXPECT_TRUE(Json::parse(out_.str()).empty());
  ASSERT_EQ(run({"bans", "list", "--all", "--json"}), kExitOk) << err_.str();
  auto rows = Json::parse(out_.str());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].at("active"), false);
}

TEST_F(BanCommands, LiftEndsTheBanWithAnAuditEventAndTheChainStillVerifies) {
  fail(5, "203.0.113.7", "");
  ASSERT_EQ(run({"bans", "lift", "203.0.113.7"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("source 203.0.113.7: ban 1 lifted"));
  auto lifts = events_of("ban.lift");
  ASSERT_EQ(lifts.size(), 1u);
  EXPECT_EQ(lifts[0].event.actor, "olivia");
  EXPECT_EQ(lifts[0].event.details.at("subject"), "203.0.113.7");
  ASSERT_EQ(run({"bans", "list", "--json"}), kExitOk);
  EXPECT_TRUE(Json::parse(out_.str()).empty());
  ASSERT_EQ(run({"audit", "verify"}), kExitOk) << out_.str() << err_.str();
}

TEST_F(BanCommands, LiftingWhatIsNotBannedIsRefusedWithWhereToLook) {
  EXPECT_EQ(run({"bans", "lift", "alice"}), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("no ban in force on 'alice' (see `bans list`)"));
  EXPECT_TRUE(events_of("ban.lift").empty());
}

TEST_F(BanCommands, ALiftThatCannotBeRecordedDoesNotHappen) {
  fail(5, "203.0.113.7", "");
  FailingEventLog failing;
  EXPECT_EQ(run_with(failing, {"bans", "lift", "203.0.113.7"}), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("disk full"));
  ASSERT_EQ(run({"bans", "list", "--json"}), kExitOk);
  EXPECT_EQ(Json::parse(out_.str()).size(), 1u);
}

TEST_F(BanCommands, ClientReviewersCannotSeeOrLiftBans) {
  fail(5, "203.0.113.7", "");
  EXPECT_EQ(run({"bans", "list"}, "carol", authz::Role::Client, "acme"), kExitRefused);
  EXPECT_EQ(run({"bans", "lift", "203.0.113.7"}, "carol", authz::Role::Client, "acme"), kExitRefused);
  EXPECT_EQ(run({"bans", "lift", "203.0.113.7"}, "alice", authz::Role::Operator), kExitRefused);
}

TEST_F(BanCommands, GuardRefusesALockedAccountUntilTheLockEnds) {
  fail(10, "", "alice");
  DatabaseBanGuard guard(db_->path(), {}, authz::BanPolicy{}, clock_);
  auto why = guard.refusal("198.51.100.1", "alice");
  ASSERT_TRUE(why);
  EXPECT_EQ(*why,
            "account alice is locked until 2026-11-23 11:00:09 UTC after 10 failed authentications within 1 hour; a "
            "security officer can lift it with `bans lift alice`");
  EXPECT_FALSE(guard.refusal("198.51.100.1", "bob"));
  clock_.advance(std::chrono::hours(1));
  EXPECT_FALSE(guard.refusal("198.51.100.1", "alice"));
}

// A monitor's copy of the guard works on the connection it is given and opens no other: here the
// daemon's guard names a file that does not exist, so only the bound connection can answer.
TEST_F(BanCommands, AGuardBoundToAConnectionUsesItForEveryCheck) {
  const DatabaseBanGuard daemon_guard(dir_ + "/no-such.db", {}, authz::BanPolicy{}, clock_);
  DatabaseBanGuard unbound = daemon_guard;
  auto unreadable = unbound.refusal("198.51.100.1", "alice");
  ASSERT_TRUE(unreadable);
  EXPECT_THAT(*unreadable, HasSubstr("does not exist"));

  DatabaseBanGuard guard = daemon_guard.on(db_);
  EXPECT_FALSE(guard.refusal("198.51.100.1", "alice"));
  for (int i = 0; i < 10; ++i) {
    guard.failed("", "alice");
    clock_.advance(std::chrono::seconds(1));
  }
  auto why = guard.refusal("198.51.100.1", "alice");
  ASSERT_TRUE(why);
  EXPECT_THAT(*why, HasSubstr("account alice is locked until"));
  EXPECT_EQ(events_of("ban.account").size(), 1u);
  fail(5, "203.0.113.9", "");
  EXPECT_TRUE(guard.source_ban("203.0.113.9"));
  EXPECT_FALSE(unbound.source_ban("203.0.113.9"));  // unreadable: nothing (authentication refuses anyway)
}

TEST_F(BanCommands, SourceBanCacheSeesBansAndLifts) {
  SourceBanCache cache(db_->path(), clock_);
  EXPECT_FALSE(cache.banned("203.0.113.7"));
  fail(5, "203.0.113.7", "");
  cache.refresh();
  EXPECT_TRUE(cache.banned("203.0.113.7"));
  EXPECT_FALSE(cache.banned("203.0.113.8"));
  ASSERT_EQ(run({"bans", "lift", "203.0.113.7"}), kExitOk) << err_.str();
  cache.refresh();
  EXPECT_FALSE(cache.banned("203.0.113.7"));
}

// IPv6: an attacker owns a whole /64, so failures from any of its addresses add up, the ban holds
// for all of them (guard and listener cache alike), and the list names the prefix.
TEST_F(BanCommands, Ipv6FailuresCountPerSlash64AndTheBanHoldsForAllOfIt) {
  for (const char* source : {"2001:db8::1", "2001:db8::2", "2001:db8::a:b:c:d", "2001:db8::ffff", "2001:db8::5"})
    fail(1, source, "");
  auto placed = events_of("ban.source");
  ASSERT_EQ(placed.size(), 1u);
  EXPECT_EQ(placed[0].event.source, "2001:db8::5");
  EXPECT_EQ(placed[0].event.details.at("subject"), "2001:db8::/64");
  ASSERT_EQ(run({"bans", "list"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("source 2001:db8::/64  until 2026-11-23 10:30:04 UTC  level 1  in force"));
  ASSERT_EQ(run({"bans", "list", "--json"}), kExitOk) << err_.str();
  EXPECT_EQ(Json::parse(out_.str()).at(0).at("subject"), "2001:db8::/64");

  DatabaseBanGuard guard(db_->path(), {}, authz::BanPolicy{}, clock_);
  auto why = guard.refusal("2001:db8::dead:beef", "bob");
  ASSERT_TRUE(why);
  EXPECT_THAT(*why, HasSubstr("network 2001:db8::/64 is banned until 2026-11-23 10:30:04 UTC"));
  EXPECT_THAT(*why, HasSubstr("`bans lift 2001:db8::/64`"));
  EXPECT_TRUE(guard.source_ban("2001:db8::7"));
  EXPECT_FALSE(guard.refusal("2001:db8:0:1::1", "bob"));  // the next /64 is someone else
  EXPECT_FALSE(guard.source_ban("2001:db9::1"));

  SourceBanCache cache(db_->path(), clock_);
  cache.refresh();
  EXPECT_TRUE(cache.banned("2001:db8::1234"));
  EXPECT_FALSE(cache.banned("2001:db8:0:1::1"));
}

TEST_F(BanCommands, Ipv4CountsPerAddressAlsoWhenSeenIpv4Mapped) {
  fail(2, "203.0.113.7", "");
  fail(3, "::ffff:203.0.113.7", "");  // the same peer through a dual-stack listener
  auto placed = events_of("ban.source");
  ASSERT_EQ(placed.size(), 1u);
  EXPECT_EQ(placed[0].event.details.at("subject"), "203.0.113.7");
  fail(4, "203.0.113.8", "");  // a neighbour is not banned with it
  EXPECT_EQ(events_of("ban.source").size(), 1u);

  DatabaseBanGuard guard(db_->path(), {}, authz::BanPolicy{}, clock_);
  EXPECT_TRUE(guard.source_ban("::ffff:203.0.113.7"));
  EXPECT_FALSE(guard.source_ban("203.0.113.8"));
  SourceBanCache cache(db_->path(), clock_);
  cache.refresh();
  EXPECT_TRUE(cache.banned("203.0.113.7"));
  EXPECT_TRUE(cache.banned("::ffff:203.0.113.7"));
  EXPECT_FALSE(cache.banned("::ffff:203.0.113.8"));
}

TEST_F(BanCommands, AnyAddressOfTheSlash64OrThePrefixLiftsItsBan) {
  fail(5, "2001:db8::1", "");
  ASSERT_EQ(run({"bans", "lift", "2001:db8::9"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("source 2001:db8::/64: ban 1 lifted"));
  EXPECT_EQ(events_of("ban.lift").at(0).event.details.at("subject"), "2001:db8::/64");

  fail(5, "2001:db8::1", "");
  ASSERT_EQ(run({"bans", "lift", "2001:db8::/64"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("source 2001:db8::/64: ban 2 lifted"));

  fail(5, "203.0.113.7", "");
  ASSERT_EQ(run({"bans", "lift", "::ffff:203.0.113.7"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("source 203.0.113.7: ban 3 lifted"));
  EXPECT_EQ(events_of("ban.lift").size(), 3u);
}

TEST_F(BanCommands, LiftingAPrefixNoBanIsPlacedOnIsRefusedWithWhy) {
  fail(5, "2001:db8::1", "");
  EXPECT_EQ(run({"bans", "lift", "2001:db8::/48"}), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("bans are placed per IPv6 /64 and per IPv4 address, never on a /48"));
  EXPECT_EQ(run({"bans", "lift", "2001:db8:0:1::/64"}), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("no ban in force on '2001:db8:0:1::/64'"));
  EXPECT_TRUE(events_of("ban.lift").empty());
}

// A ban that runs out is on record like one that is lifted: one ban.expired event, written the
// first time anyone authenticates after it (the guard's refusal check).
TEST_F(BanCommands, ABanThatRunsOutIsRecordedOnceAsExpired) {
  fail(5, "203.0.113.7", "");
  fail(10, "", "alice");
  DatabaseBanGuard guard(db_->path(), {}, authz::BanPolicy{}, clock_);
  EXPECT_TRUE(guard.refusal("203.0.113.7", "bob"));
  EXPECT_TRUE(events_of("ban.expired").empty());

  clock_.advance(std::chrono::minutes(31));  // the source ban ran out, the account lock has not
  EXPECT_FALSE(guard.refusal("203.0.113.7", "bob"));
  auto expired = events_of("ban.expired");
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].event.actor, "bastiond");
  EXPECT_EQ(expired[0].event.details.at("kind"), "source");
  EXPECT_EQ(expired[0].event.details.at("subject"), "203.0.113.7");
  EXPECT_EQ(expired[0].event.details.at("until"), "2026-11-23 10:30:04 UTC");
  EXPECT_FALSE(guard.refusal("203.0.113.7", "bob"));
  EXPECT_EQ(events_of("ban.expired").size(), 1u) << "an expiry is recorded once";

  clock_.advance(std::chrono::hours(1));
  EXPECT_FALSE(guard.refusal("198.51.100.1", "alice"));
  expired = events_of("ban.expired");
  ASSERT_EQ(expired.size(), 2u);
  EXPECT_EQ(expired[1].event.details.at("kind"), "account");
  EXPECT_EQ(expired[1].event.details.at("subject"), "alice");
  ASSERT_EQ(run({"audit", "verify"}), kExitOk) << out_.str() << err_.str();
}

TEST_F(BanCommands, ALiftedBanIsNotRecordedAsExpiredLater) {
  fail(5, "203.0.113.7", "");
  ASSERT_EQ(run({"bans", "lift", "203.0.113.7"}), kExitOk) << err_.str();
  clock_.advance(std::chrono::hours(1));
  DatabaseBanGuard guard(db_->path(), {}, authz::BanPolicy{}, clock_);
  EXPECT_FALSE(guard.refusal("203.0.113.7", "bob"));
  EXPECT_TRUE(events_of("ban.expired").empty());
}

}  // namespace
}  // namespace bastion::gateway::admin::testing
