// Bans on a dual-stack listener ([::]:PORT): an IPv4 client arrives IPv4-mapped (::ffff:127.0.0.1)
// and is still banned as its IPv4 address; an IPv6 client is banned as its /64 (authz/ban_subject.h)
// — loopback has only ::1, so its /64 is "::/64" — and the two never share a ban.
#include <gtest/gtest.h>

#include "tests/e2e/harness/bans.h"
#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/raw_connection.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

// ssh_at: the operator's ssh argv aimed at `host` instead of 127.0.0.1.
std::vector<std::string> ssh_at(const OperatorIdentity& op, const std::string& user, const std::string& host,
                                const std::vector<std::string>& command) {
  auto argv = op.ssh(user, command);
  for (auto& a : argv)
    if (a == user + "@127.0.0.1") a = user + "@" + host;
  return argv;
}

// offend_from: six wrong codes (two connections of three prompts) towards `host`.
void offend_from(const TestEnv& env, const OperatorIdentity& op, const std::string& host) {
  op.use_fixed_code(wrong_code_for(op, env.bastion.now_unix()));
  for (int i = 0; i < 2; ++i) {
    RunResult r = run_as(op, ssh_at(op, op.user(env.login(), "web1"), host, {"echo never-here"}));
    ASSERT_NE(r.exit(), 0) << diag(env, r);
  }
  op.use_current_code();
}

std::string greeting(const TestEnv& env, const std::string& address) {
  RawConnection c(address, env.bastion.port(), address);
  return c.greeting(3s);
}

TEST(DualStackBans, MappedIpv4IsBannedAsIpv4AndIpv6LoopbackAsItsSlash64Apart) {
  TestEnv env([](Bastion& b) {
    b.set_listen("[::]:0");
    b.set_daemon_args({"--lock-account-failures", "100"});  // twelve failures of alice: no lock here
  });
  OperatorIdentity alice = env.new_operator("alice");
  OperatorIdentity bob = env.new_operator("bob");
  ASSERT_TRUE(is_ssh_banner(greeting(env, "::1"))) << env.bastion.log();

  // IPv4 through the IPv6 socket: the ban's subject is the plain IPv4 address.
  ASSERT_NO_FATAL_FAILURE(offend_from(env, alice, "127.0.0.1"));
  auto bans = bans_of(env.bastion);
  ASSERT_EQ(bans.size(), 1u) << env.bastion.ctl_ok({"audit", "list"}).out;
  EXPECT_EQ(bans[0]["subject"], "127.0.0.1");
  EXPECT_EQ(greeting(env, "127.0.0.1"), "") << env.bastion.log();
  // ::1 is another source: still served, and bob logs in from it.
  EXPECT_TRUE(is_ssh_banner(greeting(env, "::1"))) << env.bastion.log();
  RunResult v6 = run_as(bob, ssh_at(bob, bob.user(env.login(), "web1"), "::1", {"echo over-v6"}));
  EXPECT_EQ(v6.exit(), 0) << diag(env, v6);
  EXPECT_NE(v6.out.find("over-v6"), std::string::npos) << diag(env, v6);

  // IPv6: the ban names the /64, and the listing shows the prefix.
  ASSERT_NO_FATAL_FAILURE(offend_from(env, alice, "::1"));
  bans = bans_of(env.bastion);
  ASSERT_EQ(bans.size(), 2u) << env.bastion.ctl_ok({"audit", "list"}).out;
  EXPECT_EQ(bans[0]["subject"], "::/64");
  const std::string listed = env.bastion.ctl_ok({"bans", "list"}).out;
  EXPECT_NE(listed.find("source ::/64  until"), std::string::npos) << listed;
  auto placed = events_of_kind(env.bastion, "ban.source");
  ASSERT_EQ(placed.size(), 2u);
  EXPECT_EQ(placed[1]["details"]["subject"], "::/64");
  EXPECT_EQ(placed[0]["source"], "::ffff:127.0.0.1") << "the event keeps the peer address as accepted";
  EXPECT_EQ(placed[1]["source"], "::1");
  EXPECT_EQ(greeting(env, "::1"), "") << env.bastion.log();

  // Lifting by the address lifts its /64; the IPv4 ban stays.
  env.bastion.ctl_ok({"bans", "lift", "::1"});
  EXPECT_TRUE(wait_until([&] { return is_ssh_banner(greeting(env, "::1")); }, 5s)) << env.bastion.log();
  EXPECT_EQ(greeting(env, "127.0.0.1"), "");
  bans = bans_of(env.bastion);
  ASSERT_EQ(bans.size(), 1u);
  EXPECT_EQ(bans[0]["subject"], "127.0.0.1");
}

}  // namespace
}  // namespace bastion::e2e
