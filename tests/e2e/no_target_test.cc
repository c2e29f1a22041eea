// `ssh alice@bastion` without a target: the operator sees her grants and the connection ends. The
// bastion never gives a shell of its own (DESIGN.md rule 8).
#include <gtest/gtest.h>

#include <ctime>

#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

std::string utc_date(long long t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

TEST(NoTarget, ListsTheOperatorsGrantsAndExits) {
  TestEnv env;
  long long before = std::time(nullptr) + 8 * 3600;
  OperatorIdentity op = env.new_operator("alice", kAllOps, "web1", {"--for", "8h"});
  long long after = std::time(nullptr) + 8 * 3600;
  RunResult r = run_as(op, op.ssh(op.user()));
  EXPECT_EQ(r.exit(), 0) << diag(env, r);
  EXPECT_NE(r.out.find("web1"), std::string::npos) << diag(env, r);
  EXPECT_NE(r.out.find(env.login()), std::string::npos) << diag(env, r);
  // "until": the grant's end, at least its date (UTC) as format_utc prints it.
  EXPECT_TRUE(r.out.find(utc_date(before)) != std::string::npos || r.out.find(utc_date(after)) != std::string::npos)
      << diag(env, r);
}

TEST(NoTarget, NoShellEvenWithATerminal) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("alice");
  RunResult r = run_as(op, op.ssh(op.user(), {}, {"-tt"}), std::string("echo shell-$((6*7))\nexit 0\n"), 30s);
  EXPECT_FALSE(r.status.timed_out) << diag(env, r);
  EXPECT_NE(r.out.find("web1"), std::string::npos) << diag(env, r);
  EXPECT_EQ(r.out.find("shell-42"), std::string::npos) << "a shell evaluated the input:\n" << diag(env, r);
}

TEST(NoTarget, AnArbitraryCommandIsNotRunOnTheBastion) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("alice");
  // Not a "login@server" target: refused, never run locally.
  RunResult r = run_as(op, op.ssh(op.user(), {"sh -c 'echo local-$((6*7))'"}));
  EXPECT_NE(r.exit(), 0) << diag(env, r);
  EXPECT_EQ(r.out.find("local-42"), std::string::npos) << diag(env, r);
}

TEST(NoTarget, OperatorWithoutGrantsIsToldSo) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("alice", /*ops=*/{});
  RunResult r = run_as(op, op.ssh(op.user()));
  EXPECT_FALSE(r.status.timed_out) << diag(env, r);
  EXPECT_EQ(r.out.find("web1"), std::string::npos) << diag(env, r);
  EXPECT_FALSE(r.out.empty() && r.err.empty()) << "expected a message saying there are no grants\n" << diag(env, r);
}

}  // namespace
}  // namespace bastion::e2e
