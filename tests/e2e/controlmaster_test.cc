// OpenSSH connection multiplexing through the bastion: one authenticated connection (ControlMaster,
// kept by ControlPersist), then several channels on it at the same time.
#include <gtest/gtest.h>

#include <regex>

#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

// MasterGuard ends the persisted master however the test ends: `ssh -O exit`, then a kill of the pid
// that `ssh -O check` reported if it is still there.
class MasterGuard {
 public:
  MasterGuard(const OperatorIdentity& op, std::vector<std::string> control) : op_(op), control_(std::move(control)) {}
  ~MasterGuard() {
    RunResult check = run_as(op_, with({"-O", "check"}), std::nullopt, 10s);
    std::smatch m;
    std::regex pid_re("pid=([0-9]+)");
    int pid = std::regex_search(check.err, m, pid_re) ? std::stoi(m[1]) : 0;
    run_as(op_, with({"-O", "exit"}), std::nullopt, 10s);
    if (pid > 0 && !wait_until([&] { return ::kill(pid, 0) != 0; }, 5s)) ::kill(pid, SIGKILL);
  }
  std::vector<std::string> with(const std::vector<std::string>& extra) const {
    std::vector<std::string> opts = control_;
    opts.insert(opts.end(), extra.begin(), extra.end());
    return op_.ssh(op_.user(), {}, opts);
  }

 private:
  const OperatorIdentity& op_;
  std::vector<std::string> control_;
};

// control_options: OpenSSH connection sharing through a control socket in the test's temp dir, the
// master kept by ControlPersist.
std::vector<std::string> control_options(const TestEnv& env) {
  return {"-o", "ControlMaster=auto", "-o", "ControlPath=" + env.tmp.path() + "/cm-%C", "-o", "ControlPersist=120"};
}

// SharedLogin: an operator with a grant on web1 and a master connection it logged in through (key +
// TOTP, `echo first`); the guard ends the master however the test ends.
struct SharedLogin {
  explicit SharedLogin(TestEnv& env)
      : op(env.new_operator("alice")),
        user(op.user(env.login(), "web1")),
        control(control_options(env)),
        guard(op, control),
        first(run_as(op, op.ssh(user, {"echo first"}, control), std::nullopt, 60s)) {}
  OperatorIdentity op;
  std::string user;
  std::vector<std::string> control;
  MasterGuard guard;
  RunResult first;
};

TEST(ControlMaster, ThreeConcurrentChannelsOverOneLogin) {
  TestEnv env;
  // The first connection authenticates (key + TOTP) and leaves the master running in the background.
  SharedLogin login(env);
  const OperatorIdentity& op = login.op;
  const std::string& user = login.user;
  const std::vector<std::string>& control = login.control;
  ASSERT_EQ(login.first.exit(), 0) << diag(env, login.first);
  ASSERT_EQ(login.first.out, "first\n") << diag(env, login.first);
  const size_t prompts = op.askpass_prompts().size();
  ASSERT_GE(prompts, 1u) << "the login asked for no TOTP code";

  // Three channels at once. Each marks itself and waits (bounded) until all three marks exist, so each
  // prints 3 only if the three channels really were open at the same time.
  const std::string marks = env.scratch("marks");
  std::vector<std::unique_ptr<Process>> procs;
  for (int i = 1; i <= 3; ++i) {
    SpawnOptions o;
    o.argv = op.ssh(user,
                    {"sh -c 'touch " + marks + "/ch-" + std::to_string(i) +
                     "; n=0; while [ $(ls " + marks + " | wc -l) -lt 3 ] && [ $n -lt 200 ]; do sleep 0.05; "
                     "n=$((n+1)); done; ls " + marks + " | wc -l; echo channel-" + std::to_string(i) + "'"},
                    control);
    o.env = op.env();
    procs.push_back(std::make_unique<Process>(std::move(o)));
  }
  for (int i = 0; i < 3; ++i) {
    auto status = procs[i]->wait(60s);
    ASSERT_TRUE(status.has_value()) << "channel " << i + 1 << " did not finish";
    RunResult r{*status, procs[i]->out(), procs[i]->err()};
    EXPECT_EQ(r.exit(), 0) << diag(env, r);
    EXPECT_EQ(r.out, "3\nchannel-" + std::to_string(i + 1) + "\n") << diag(env, r);
  }
  // Still one login: the channels rode on the master and never asked for a code.
  EXPECT_EQ(op.askpass_prompts().size(), prompts);
}

// bastiond forwards bulk output in whole packets and holds a shorter tail back until the network is
// quiet (ChannelBridge::release). A connection whose other channel never stops streaming is never
// quiet: the tail must still go out, after at most ChannelBridge::kHoldAtMost.
TEST(ControlMaster, ABusyChannelDoesNotHoldBackAnotherChannelsOutput) {
  // A small recording cap: the endless stream is counted and hashed, not stored.
  TestEnv env([](Bastion& b) { b.set_daemon_args({"--recording-cap", "1000000"}); });
  SharedLogin login(env);
  const OperatorIdentity& op = login.op;
  const std::string& user = login.user;
  const std::vector<std::string>& control = login.control;
  ASSERT_EQ(login.first.exit(), 0) << diag(env, login.first);

  SpawnOptions endless;
  endless.argv = op.ssh(user, {"cat /dev/zero"}, control);
  endless.env = op.env();
  endless.stdout_file = "/dev/null";
  Process stream(std::move(endless));
  // Make sure the stream is flowing before the burst starts.
  ASSERT_TRUE(wait_until([&] { return sessions_of(env.bastion, op.name()).size() >= 2; }, 30s)) << env.bastion.log();

  LiveClient burst(op.ssh(user, {"head -c 70000 /dev/zero | tr '\\0' b; echo; echo END-OF-BURST; read line"}, control),
                   op.env(), env.tmp.sub("stdin"));
  EXPECT_TRUE(burst.wait_for_output("END-OF-BURST", 30s))
      << "the tail of the burst was held while the other channel streamed\n" << diag(env, burst.result());
  EXPECT_FALSE(stream.wait(0s).has_value()) << "the endless stream ended early\n" << env.bastion.log();
  burst.close_stdin();
  EXPECT_TRUE(burst.wait(30s).has_value());
  EXPECT_EQ(burst.out(), std::string(70000, 'b') + "\nEND-OF-BURST\n");
  ::kill(static_cast<pid_t>(stream.pid()), SIGTERM);
}

}  // namespace
}  // namespace bastion::e2e
