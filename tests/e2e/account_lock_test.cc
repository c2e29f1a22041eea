// Account locks: ten failed authentications on one account within an hour lock it, whichever
// addresses they came from (a distributed guess at one person's code). While it is locked, even
// both correct factors from a fresh address are refused, with the reason on the client's screen;
// other accounts are not affected. An officer's lift, or the lock's end, opens it again.
#include <gtest/gtest.h>

#include "tests/e2e/harness/bans.h"
#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/sshd_target.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

const std::vector<std::string> kProbe = {"echo never-here"};

// fail_from: one connection from `from` with a wrong code at each of ssh's three prompts.
void fail_from(const TestEnv& env, const OperatorIdentity& op, const std::string& from) {
  op.use_fixed_code(wrong_code_for(op, env.bastion.now_unix()));
  RunResult r = run_as(op, op.ssh(op.user(env.login(), "web1"), kProbe, {"-b", from}));
  op.use_current_code();
  ASSERT_NE(r.exit(), 0) << diag(env, r);
  ASSERT_EQ(r.out.find("never-here"), std::string::npos) << diag(env, r);
}

TEST(AccountLock, TenFailuresFromManyAddressesLockTheAccountAndOnlyIt) {
  TestEnv env;  // default thresholds: 5 per source within 15 min, 10 per account within 1 h
  OperatorIdentity alice = env.new_operator("alice");
  OperatorIdentity bob = env.new_operator("bob");

  // Four addresses, three wrong codes each: no source reaches five, the account passes ten.
  for (int i = 2; i <= 5; ++i) ASSERT_NO_FATAL_FAILURE(fail_from(env, alice, "127.0.0." + std::to_string(i)));
  auto bans = bans_of(env.bastion);
  ASSERT_EQ(bans.size(), 1u) << "one lock, no source ban: " << env.bastion.ctl_ok({"bans", "list", "--all"}).out;
  EXPECT_EQ(bans[0]["kind"], "account");
  EXPECT_EQ(bans[0]["subject"], alice.name());
  EXPECT_EQ(ban_length_seconds(bans[0]), 3600);
  auto locks = events_of_kind(env.bastion, "ban.account");
  ASSERT_EQ(locks.size(), 1u);
  EXPECT_EQ(locks[0]["details"]["subject"], alice.name());
  EXPECT_TRUE(events_of_kind(env.bastion, "ban.source").empty());

  // The right key and the right code, from an address that never failed: refused, and told why.
  RunResult locked = run_as(alice, alice.ssh(alice.user(env.login(), "web1"), kProbe, {"-b", "127.0.0.9"}));
  EXPECT_NE(locked.exit(), 0) << diag(env, locked);
  EXPECT_FALSE(locked.status.timed_out) << diag(env, locked);
  EXPECT_EQ(locked.out.find("never-here"), std::string::npos) << diag(env, locked);
  EXPECT_TRUE(mentions(locked.err, "account " + alice.name() + " is locked until .* a security officer can lift it"))
      << diag(env, locked);
  // …and the refusal is an audit event, from that address.
  bool refusal_recorded = false;
  for (const auto& e : events_of_kind(env.bastion, "auth.failure")) {
    refusal_recorded |= e["source"].get<std::string>().rfind("127.0.0.9:", 0) == 0 &&
                        mentions(e["details"]["reason"].get<std::string>(), "account " + alice.name() + " is locked");
  }
  EXPECT_TRUE(refusal_recorded) << env.bastion.ctl_ok({"audit", "list", "--kind", "auth.failure"}).out;

  // Meanwhile bob logs in from the same address.
  RunResult other = run_as(bob, bob.ssh(bob.user(env.login(), "web1"), {"echo bob-in"}, {"-b", "127.0.0.9"}));
  EXPECT_EQ(other.exit(), 0) << diag(env, other);
  EXPECT_NE(other.out.find("bob-in"), std::string::npos) << diag(env, other);

  // An officer lifts the lock (on record), and alice is back.
  env.bastion.ctl_ok({"bans", "lift", alice.name()});
  auto lifts = events_of_kind(env.bastion, "ban.lift");
  ASSERT_EQ(lifts.size(), 1u);
  EXPECT_EQ(lifts[0]["details"]["kind"], "account");
  RunResult back = run_as(alice, alice.ssh(alice.user(env.login(), "web1"), {"echo alice-in"}, {"-b", "127.0.0.9"}));
  EXPECT_EQ(back.exit(), 0) << diag(env, back);
  EXPECT_NE(back.out.find("alice-in"), std::string::npos) << diag(env, back);
}

// Someone who holds no key of the account cannot lock it: failures with a key that is not registered
// count against the source (which is banned) and never against the account.
TEST(AccountLock, FailuresWithAnUnregisteredKeyNeverLockTheAccount) {
  TestEnv env;
  OperatorIdentity alice = env.new_operator("alice");
  const std::string stranger_key = env.scratch("stranger") + "/id_ed25519";
  ssh_keygen(stranger_key, "stranger");
  const OperatorIdentity holder(alice.name(), alice.dir(), stranger_key, alice.totp_secret(),
                                alice.dir() + "/known_hosts_stranger", env.bastion.port());
  const OperatorIdentity impostor = alice.with_key_of(holder);

  // Three addresses, six connections each: each source passes its five, the account name its ten.
  for (int i = 2; i <= 4; ++i) {
    for (int attempt = 0; attempt < 6; ++attempt) {
      RunResult r = run_as(impostor, impostor.ssh(impostor.user(env.login(), "web1"), kProbe,
                                                  {"-b", "127.0.0." + std::to_string(i)}));
      ASSERT_NE(r.exit(), 0) << diag(env, r);
      ASSERT_EQ(r.out.find("never-here"), std::string::npos) << diag(env, r);
    }
  }
  std::size_t failures = 0;
  for (const auto& e : events_of_kind(env.bastion, "auth.failure")) failures += e["actor"] == alice.name() ? 1 : 0;
  ASSERT_GE(failures, 10u) << env.bastion.ctl_ok({"audit", "list", "--kind", "auth.failure"}).out;
  std::size_t source_bans = 0;
  for (const auto& b : bans_of(env.bastion)) {
    EXPECT_EQ(b["kind"], "source") << b.dump();
    source_bans += b["kind"] == "source" ? 1 : 0;
  }
  EXPECT_EQ(source_bans, 3u) << "the guessing sources went unbanned\n" << env.bastion.ctl_ok({"bans", "list", "--all"}).out;
  EXPECT_TRUE(events_of_kind(env.bastion, "ban.account").empty());

  // alice herself, from an address that did not guess, gets in.
  RunResult in = run_as(alice, alice.ssh(alice.user(env.login(), "web1"), {"echo alice-in"}, {"-b", "127.0.0.9"}));
  EXPECT_EQ(in.exit(), 0) << diag(env, in);
  EXPECT_NE(in.out.find("alice-in"), std::string::npos) << diag(env, in);
}

// The lock also ends by itself: an hour later on the bastion's (test) clock, with its end on record.
TEST(AccountLock, ALockRunsOutOnTheBastionsClock) {
  TestEnv env([](Bastion& b) {
    b.use_test_clock();
    b.set_daemon_args({"--lock-account-failures", "3", "--lock-account-minutes", "60"});
  });
  // A grant that outlasts the jump of the clock.
  OperatorIdentity alice = env.new_operator("alice", kAllOps, "web1", {"--for", "4h"});
  ASSERT_NO_FATAL_FAILURE(fail_from(env, alice, "127.0.0.2"));
  auto bans = bans_of(env.bastion);
  ASSERT_EQ(bans.size(), 1u);
  EXPECT_EQ(bans[0]["kind"], "account");
  RunResult locked = run_as(alice, alice.ssh(alice.user(env.login(), "web1"), kProbe, {"-b", "127.0.0.3"}));
  EXPECT_TRUE(mentions(locked.err, "account " + alice.name() + " is locked")) << diag(env, locked);

  env.bastion.shift_clock(std::chrono::minutes(61));
  RunResult back = run_as(alice, alice.ssh(alice.user(env.login(), "web1"), {"echo alice-in"}, {"-b", "127.0.0.3"}));
  EXPECT_EQ(back.exit(), 0) << diag(env, back);
  EXPECT_NE(back.out.find("alice-in"), std::string::npos) << diag(env, back);
  EXPECT_TRUE(bans_of(env.bastion).empty());
  auto expired = events_of_kind(env.bastion, "ban.expired");
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0]["details"]["kind"], "account");
  EXPECT_EQ(expired[0]["details"]["subject"], alice.name());
}

}  // namespace
}  // namespace bastion::e2e
