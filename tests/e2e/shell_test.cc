// Interactive shells through the bastion: a pty end to end, TERM and the window size passed through.
#include <gtest/gtest.h>

#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

// `ssh -tt` with stdin that is not a terminal: what scripts and CI do.
TEST(Shell, ForcedPtyRunsTypedCommandsAndReturnsTheShellsExitStatus) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("alice");
  RunResult r = run_as(op, op.ssh(op.user(env.login(), "web1"), {}, {"-tt"}),
                       std::string("echo marker-$((6*7))\nexit 3\n"));
  EXPECT_EQ(r.exit(), 3) << diag(env, r);
  // The typed line is echoed as "marker-$((6*7))"; only a shell on the target prints marker-42.
  EXPECT_NE(r.out.find("marker-42"), std::string::npos) << diag(env, r);
}

// A real terminal on the operator's side (a pty the harness owns), as a person at a keyboard.
TEST(Shell, FromARealTerminal) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("alice");
  RunResult r = run_in_pty(op.ssh(op.user(env.login(), "web1"), {}, {"-t"}), op.env(),
                           "echo marker-$((6*7))\nexit 3\n", 100, 30, 60s);
  EXPECT_EQ(r.exit(), 3) << diag(env, r);
  EXPECT_NE(r.out.find("marker-42"), std::string::npos) << diag(env, r);
}

TEST(Shell, TermIsPassedThrough) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("alice");
  Env e = op.env();
  e["TERM"] = "xterm-256color";
  RunResult r = run_in_pty(op.ssh(op.user(env.login(), "web1"), {}, {"-t"}), e, "echo term-$TERM-end\nexit\n", 100,
                           30, 60s);
  EXPECT_EQ(r.exit(), 0) << diag(env, r);
  EXPECT_NE(r.out.find("term-xterm-256color-end"), std::string::npos) << diag(env, r);
}

// The operator's terminal is 123x45: the target's pty must be the same size (pty-req carries it).
TEST(Shell, WindowSizeIsPassedThrough) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("alice");
  RunResult r = run_in_pty(op.ssh(op.user(env.login(), "web1"), {"stty size"}, {"-t"}), op.env(), "", 123, 45, 60s);
  EXPECT_EQ(r.exit(), 0) << diag(env, r);
  EXPECT_NE(r.out.find("45 123"), std::string::npos) << diag(env, r);
}

}  // namespace
}  // namespace bastion::e2e
