// SqliteBanStore and note_failure on a real SQLite file and a real PostgreSQL database, with a
// FixedClock driving the windows.
#include "authz/sqlite_ban_store.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "tests/db/test_database.h"

namespace bastion::authz {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

const Seconds kNow = from_unix(1795428000);  // 2026-11-23 10:00:00 UTC

// The same cases run against SQLite and PostgreSQL (tests/db/test_database.h).
class BanStoreTest : public ::testing::TestWithParam<test_db::Engine> {
 protected:
  void SetUp() override {
    test_database_ = std::make_unique<test_db::TestDatabase>(GetParam());
    BASTION_REQUIRE_ENGINE(*test_database_);
    auto db = db::Database::open(test_database_->location(), true);
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = *db;
    store_ = std::make_unique<SqliteBanStore>(db_);
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    test_database_.reset();
  }

  // fail records n failures from source on account at the clock's time, one per second.
  std::vector<Ban> fail(int n, const std::string& source, const std::string& account) {
    std::vector<Ban> placed;
    for (int i = 0; i < n; ++i) {
      for (auto& b : note_failure(*store_, policy_, source, account, clock_.now())) placed.push_back(b);
      clock_.advance(std::chrono::seconds(1));
    }
    return placed;
  }

  std::unique_ptr<test_db::TestDatabase> test_database_;
  db::DatabasePtr db_;
  std::unique_ptr<SqliteBanStore> store_;
  FixedClock clock_{kNow};
  BanPolicy policy_;
};

INSTANTIATE_TEST_SUITE_P(Engines, BanStoreTest, test_db::kEngines, test_db::engine_name);

TEST_P(BanStoreTest, FiveFailuresFromOneSourceBanItAndTheBanExpires) {
  EXPECT_TRUE(fail(4, "203.0.113.7", "alice").empty());
  EXPECT_FALSE(store_->active_ban(BanKind::Source, "203.0.113.7", clock_.now()));
  auto placed = fail(1, "203.0.113.7", "alice");
  ASSERT_EQ(placed.size(), 1u);
  EXPECT_EQ(placed[0].kind, BanKind::Source);
  EXPECT_EQ(placed[0].until, kNow + std::chrono::seconds(4) + minutes(30));
  EXPECT_TRUE(store_->active_ban(BanKind::Source, "203.0.113.7", clock_.now()));
  EXPECT_EQ(store_->banned_sources(clock_.now()), std::vector<std::string>{"203.0.113.7"});
  // Another address is not affected.
  EXPECT_FALSE(store_->active_ban(BanKind::Source, "203.0.113.8", clock_.now()));

  clock_.set(placed[0].until);
  EXPECT_FALSE(store_->active_ban(BanKind::Source, "203.0.113.7", clock_.now()));
  EXPECT_TRUE(store_->banned_sources(clock_.now()).empty());
}

TEST_P(BanStoreTest, FailuresOutsideTheWindowDoNotCount) {
  fail(4, "203.0.113.7", "alice");
  clock_.advance(minutes(16));
  EXPECT_TRUE(fail(4, "203.0.113.7", "alice").empty());
  EXPECT_EQ(fail(1, "203.0.113.7", "alice").size(), 1u);
}

TEST_P(BanStoreTest, TheNextBanOfTheSameSourceIsTwiceAsLong) {
  auto first = fail(5, "203.0.113.7", "");
  ASSERT_EQ(first.size(), 1u);
  // Failures during the ban (a connection that slipped through) do not count afterwards.
  fail(5, "203.0.113.7", "");
  clock_.set(first[0].until + minutes(1));
  EXPECT_TRUE(fail(4, "203.0.113.7", "").empty());
  auto second = fail(1, "203.0.113.7", "");
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].level, 2);
  EXPECT_EQ(second[0].until - second[0].created_at, hours(1));
}

TEST_P(BanStoreTest, TenFailuresOnOneAccountFromManySourcesLockIt) {
  std::vector<Ban> placed;
  for (int i = 0; i < 10; ++i) {
    for (auto& b : fail(1, "198.51.100." + std::to_string(i), "alice")) placed.push_back(b);
  }
  ASSERT_EQ(placed.size(), 1u);
  EXPECT_EQ(placed[0].kind, BanKind::Account);
  EXPECT_EQ(placed[0].subject, "alice");
  EXPECT_EQ(placed[0].until, kNow + std::chrono::seconds(9) + hours(1));
  EXPECT_TRUE(store_->active_ban(BanKind::Account, "alice", clock_.now()));
  EXPECT_FALSE(store_->active_ban(BanKind::Account, "bob", clock_.now()));
}

TEST_P(BanStoreTest, LiftEndsTheBanAndIsKeptInTheHistory) {
  fail(5, "203.0.113.7", "");
  auto lifted = store_->lift("203.0.113.7", "olivia", clock_.now());
  ASSERT_EQ(lifted.size(), 1u);
  EXPECT_EQ(lifted[0].lifted_by, "olivia");
  EXPECT_FALSE(store_->active_ban(BanKind::Source, "203.0.113.7", clock_.now()));
  EXPECT_TRUE(store_->list(clock_.now(), false).empty());
  auto all = store_->list(clock_.now(), true);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].lifted_at, clock_.now());
  EXPECT_TRUE(store_->lift("203.0.113.7", "olivia", clock_.now()).empty());
  // After a lift, the next ban starts over at 30 minutes.
  auto again = fail(5, "203.0.113.7", "");
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].level, 1);
}

TEST_P(BanStoreTest, OldFailuresArePruned) {
  fail(3, "203.0.113.7", "alice");
  clock_.advance(hours(25));
  fail(1, "203.0.113.9", "bob");
  auto s = db_->prepare("SELECT count(*) FROM auth_failures");
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.col_int(0), 1);
}

TEST_P(BanStoreTest, FailuresFromOneIpv6Slash64AddUpAndBanThePrefix) {
  for (int i = 1; i <= 4; ++i) EXPECT_TRUE(fail(1, "2001:db8:0:7::" + std::to_string(i), "").empty());
  EXPECT_TRUE(fail(4, "2001:db8:0:8::1", "").empty());  // the neighbouring /64 counts on its own
  auto placed = fail(1, "2001:db8:0:7:ffff:ffff:ffff:ffff", "");
  ASSERT_EQ(placed.size(), 1u);
  EXPECT_EQ(placed[0].subject, "2001:db8:0:7::/64");
  EXPECT_EQ(store_->banned_sources(clock_.now()), std::vector<std::string>{"2001:db8:0:7::/64"});
}

TEST_P(BanStoreTest, AnIpv4MappedSourceCountsAsTheIpv4Address) {
  fail(3, "::ffff:203.0.113.7", "");
  auto placed = fail(2, "203.0.113.7", "");
  ASSERT_EQ(placed.size(), 1u);
  EXPECT_EQ(placed[0].subject, "203.0.113.7");
}

TEST_P(BanStoreTest, ExpiriesAreListedUntilMarkedRecordedAndLiftedBansNever) {
  auto first = fail(5, "203.0.113.7", "");
  auto second = fail(5, "203.0.113.8", "");
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  store_->lift("203.0.113.8", "olivia", clock_.now());
  EXPECT_TRUE(store_->unrecorded_expiries(clock_.now()).empty());
  clock_.advance(hours(1));
  auto due = store_->unrecorded_expiries(clock_.now());
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].id, first[0].id);
  store_->mark_expiry_recorded(due[0].id);
  EXPECT_TRUE(store_->unrecorded_expiries(clock_.now()).empty());
}

}  // namespace
}  // namespace bastion::authz
