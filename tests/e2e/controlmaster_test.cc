// OpenSSH connection multiplexing through the bastion: one authenticated connection (ControlMaster,
// kept by ControlPersist), then several channels on it at the same time.
#include <gtest/gtest.h>

#include <regex>

#include "tests/e2e/harness/diagnostics.h"
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

TEST(ControlMaster, ThreeConcurrentChannelsOverOneLogin) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("alice");
  const std::string user = op.user(env.login(), "web1");
  const std::vector<std::string> control = {"-o", "ControlMaster=auto", "-o",
                                            "ControlPath=" + env.tmp.path() + "/cm-%C", "-o",
                                            "ControlPersist=120"};
  MasterGuard guard(op, control);

  // The first connection authenticates (key + TOTP) and leaves the master running in the background.
  RunResult first = run_as(op, op.ssh(user, {"echo first"}, control), std::nullopt, 60s);
  ASSERT_EQ(first.exit(), 0) << diag(env, first);
  ASSERT_EQ(first.out, "first\n") << diag(env, first);
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

}  // namespace
}  // namespace bastion::e2e
