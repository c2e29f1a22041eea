// Exec channels through the bastion: exit status, stdout/stderr separation, stdin and EOF, and the
// `ssh -t op@bastion login@server command` form.
#include <gtest/gtest.h>

#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

TEST(Exec, ExitStatusPropagates) {
  TestEnv env;
  for (int code : {0, 1, 42}) {
    OperatorIdentity op = env.new_operator("alice");  // one login per operator per TOTP step
    RunResult r = run_as(op, op.ssh(op.user(env.login(), "web1"), {"exit " + std::to_string(code)}));
    EXPECT_EQ(r.exit(), code) << diag(env, r);
  }
}

TEST(Exec, StdoutAndStderrStaySeparate) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("alice");
  RunResult r = run_as(op, op.ssh(op.user(env.login(), "web1"),
                                  {"sh -c 'echo to-stdout; echo to-stderr >&2; echo more-stdout'"}));
  EXPECT_EQ(r.exit(), 0) << diag(env, r);
  EXPECT_EQ(r.out, "to-stdout\nmore-stdout\n") << diag(env, r);
  EXPECT_NE(r.err.find("to-stderr\n"), std::string::npos) << diag(env, r);
  EXPECT_EQ(r.err.find("stdout"), std::string::npos) << diag(env, r);
}

TEST(Exec, StdinReachesTheCommandAndEofEndsIt) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("alice");
  std::string input;
  for (int i = 0; i < 2000; ++i) input += "line " + std::to_string(i) + "\n";
  RunResult r = run_as(op, op.ssh(op.user(env.login(), "web1"), {"wc -l"}), input);
  EXPECT_EQ(r.exit(), 0) << diag(env, r);
  EXPECT_EQ(trim(r.out), "2000") << diag(env, r);
}

TEST(Exec, TargetAsCommandWithForcedTty) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("alice");
  // ssh -tt alice@bastion USER@web1 echo hi
  RunResult r = run_as(op, op.ssh(op.user(), {env.login() + "@web1", "echo", "hi-from-target"}, {"-tt"}));
  EXPECT_EQ(r.exit(), 0) << diag(env, r);
  EXPECT_NE(r.out.find("hi-from-target"), std::string::npos) << diag(env, r);
}

TEST(Exec, TargetAsCommandWithoutTtyKeepsExitStatus) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("alice");
  RunResult r = run_as(op, op.ssh(op.user(), {env.login() + "@web1", "exit", "5"}));
  EXPECT_EQ(r.exit(), 5) << diag(env, r);
}

}  // namespace
}  // namespace bastion::e2e
