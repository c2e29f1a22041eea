// Source bans run out on the bastion's own clock, and the next offence is punished twice as long.
// The daemon and bastionctl run on a test clock (BASTION_TEST_CLOCK_FILE, authz/clock.h) that the
// test moves 31 minutes ahead instead of waiting; the operator's askpass answers TOTP prompts for
// that shifted time, as a person's phone would for the real one.
#include <gtest/gtest.h>

#include "tests/e2e/harness/bans.h"
#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/raw_connection.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

// offend: six wrong codes from 127.0.0.1 (stock ssh asks three times per connection), enough for
// a ban at the default five.
void offend(const TestEnv& env, const OperatorIdentity& op) {
  op.use_fixed_code(wrong_code_for(op, env.bastion.now_unix()));
  for (int i = 0; i < 2; ++i) {
    RunResult r = run_as(op, op.ssh(op.user(env.login(), "web1"), {"echo never-here"}));
    ASSERT_NE(r.exit(), 0) << diag(env, r);
    ASSERT_EQ(r.out.find("never-here"), std::string::npos) << diag(env, r);
  }
  op.use_current_code();
}

// greeted: a new connection from `from` gets the SSH banner (the listener re-reads bans each second).
bool greeted(const TestEnv& env, const std::string& from) {
  RawConnection c(from, env.bastion.port());
  return is_ssh_banner(c.greeting(2s));
}

TEST(BanExpiry, ABanRunsOutOnTheBastionsClockAndTheNextOneLastsTwiceAsLong) {
  TestEnv env([](Bastion& b) {
    b.use_test_clock();
    // Twelve failures of one account within the hour would lock it (10): only the source ban is
    // under test here (the lock is, in account_lock_test.cc).
    b.set_daemon_args({"--lock-account-failures", "100"});
  });
  OperatorIdentity alice = env.new_operator("alice");

  // A first offence: 127.0.0.1 is banned for 30 minutes, closed before the SSH banner.
  ASSERT_NO_FATAL_FAILURE(offend(env, alice));
  auto bans = bans_of(env.bastion);
  ASSERT_EQ(bans.size(), 1u) << env.bastion.ctl_ok({"audit", "list"}).out;
  const auto first_id = bans[0]["id"].get<long long>();
  EXPECT_EQ(bans[0]["kind"], "source");
  EXPECT_EQ(bans[0]["subject"], "127.0.0.1");
  EXPECT_EQ(bans[0]["level"], 1);
  EXPECT_EQ(bans[0]["active"], true);
  EXPECT_EQ(ban_length_seconds(bans[0]), 30 * 60);
  RawConnection banned("127.0.0.1", env.bastion.port());
  EXPECT_EQ(banned.greeting(3s), "") << env.bastion.log();

  // 31 minutes later (on the bastion's clock) the ban has run out: the same address logs in.
  env.bastion.shift_clock(std::chrono::minutes(31));
  ASSERT_TRUE(wait_until([&] { return greeted(env, "127.0.0.1"); }, 5s)) << env.bastion.log();
  RunResult back = run_as(alice, alice.ssh(alice.user(env.login(), "web1"), {"echo back-in"}));
  ASSERT_EQ(back.exit(), 0) << diag(env, back);
  EXPECT_NE(back.out.find("back-in"), std::string::npos) << diag(env, back);
  EXPECT_TRUE(bans_of(env.bastion).empty());
  auto history = bans_of(env.bastion, /*all=*/true);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0]["active"], false);
  EXPECT_TRUE(history[0]["lifted_at"].is_null()) << "it ran out, nobody lifted it";
  // Its end is on record: written when the next connection authenticated.
  auto expired = events_of_kind(env.bastion, "ban.expired");
  ASSERT_EQ(expired.size(), 1u) << env.bastion.ctl_ok({"audit", "list"}).out;
  EXPECT_EQ(expired[0]["details"]["ban"], first_id);
  EXPECT_EQ(expired[0]["details"]["subject"], "127.0.0.1");

  // A second offence within a day of the first ban's end: 60 minutes, level 2.
  ASSERT_NO_FATAL_FAILURE(offend(env, alice));
  bans = bans_of(env.bastion);
  ASSERT_EQ(bans.size(), 1u) << env.bastion.ctl_ok({"audit", "list"}).out;
  const auto second_id = bans[0]["id"].get<long long>();
  EXPECT_NE(second_id, first_id);
  EXPECT_EQ(bans[0]["subject"], "127.0.0.1");
  EXPECT_EQ(bans[0]["level"], 2);
  EXPECT_EQ(bans[0]["active"], true);
  EXPECT_EQ(ban_length_seconds(bans[0]), 60 * 60) << bans[0].dump();
  EXPECT_NE(bans[0]["reason"].get<std::string>().find("failed authentication"), std::string::npos);
  EXPECT_EQ(bans_of(env.bastion, true).size(), 2u);
  RawConnection banned_again("127.0.0.1", env.bastion.port());
  EXPECT_EQ(banned_again.greeting(3s), "") << env.bastion.log();

  // An officer lifts it: the address is served again, and the lift is on record.
  env.bastion.ctl_ok({"bans", "lift", "127.0.0.1"});
  EXPECT_TRUE(wait_until([&] { return greeted(env, "127.0.0.1"); }, 5s)) << env.bastion.log();

  // The whole story in the audit trail: two bans, one expiry, one lift, chain intact.
  auto placed = events_of_kind(env.bastion, "ban.source");
  ASSERT_EQ(placed.size(), 2u);
  EXPECT_EQ(placed[0]["details"]["level"], 1);
  EXPECT_EQ(placed[1]["details"]["level"], 2);
  EXPECT_EQ(placed[1]["details"]["subject"], "127.0.0.1");
  EXPECT_EQ(events_of_kind(env.bastion, "ban.expired").size(), 1u);
  auto lifts = events_of_kind(env.bastion, "ban.lift");
  ASSERT_EQ(lifts.size(), 1u);
  EXPECT_EQ(lifts[0]["details"]["ban"], second_id);
  RunResult verify = env.bastion.ctl({"audit", "verify"});
  EXPECT_EQ(verify.exit(), 0) << verify.describe();
}

}  // namespace
}  // namespace bastion::e2e
