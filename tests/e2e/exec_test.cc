// Exec channels through the bastion: exit status, stdout/stderr separation, stdin and EOF, and the
// `ssh -t op@bastion login@server command` form.
#include <gtest/gtest.h>

#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

using namespace std::chrono_literals;

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

// The bastion forwards bulk output in whole SSH packets and holds a shorter tail back for the next
// read (ChannelBridge::move). Output that then stops while the command keeps running must still
// arrive: 70 006 bytes are two full packets and a 4 490-byte tail, and the command waits for a line
// the test types only once it has seen the end of that output.
TEST(Exec, OutputThatPausesMidStreamArrivesWhole) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("alice");
  LiveClient ssh(op.ssh(op.user(env.login(), "web1"),
                        {"head -c 70000 /dev/zero | tr '\\0' a; echo; echo END-OF-BURST; read line; echo got-$line"}),
                 op.env(), env.tmp.sub("stdin"));
  ASSERT_TRUE(ssh.wait_for_output("END-OF-BURST", 60s)) << "the tail of the burst never arrived\n" << diag(env, ssh.result());
  ssh.type("pong\n");
  ASSERT_TRUE(ssh.wait_for_output("got-pong", 60s)) << diag(env, ssh.result());
  ssh.close_stdin();
  RunResult r = ssh.result();
  ASSERT_TRUE(ssh.wait(60s).has_value()) << diag(env, r);
  EXPECT_EQ(ssh.out(), std::string(70000, 'a') + "\nEND-OF-BURST\ngot-pong\n") << diag(env, ssh.result());
}

}  // namespace
}  // namespace bastion::e2e
