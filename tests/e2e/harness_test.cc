// Self-tests of the end-to-end harness: Process, ports, the target sshd (reached directly with a real
// ssh client, no bastion involved), the pty runner and the askpass scripts. They need no bastiond, so
// they tell a harness failure apart from a daemon failure.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/e2e/harness/bastion.h"
#include "tests/e2e/harness/process.h"
#include "tests/e2e/harness/sshd_target.h"
#include "tests/e2e/harness/util.h"

namespace bastion::e2e {
namespace {

TEST(HarnessProcess, CapturesStdoutStderrAndExitCodeSeparately) {
  RunResult r = run({"sh", "-c", "echo to-out; echo to-err >&2; exit 42"});
  EXPECT_EQ(r.exit(), 42) << r.describe();
  EXPECT_EQ(r.out, "to-out\n");
  EXPECT_EQ(r.err, "to-err\n");
}

TEST(HarnessProcess, FeedsStdinFromAString) {
  RunResult r = run({"tr", "a-z", "A-Z"}, base_env(), std::string("hello\n"));
  EXPECT_EQ(r.exit(), 0) << r.describe();
  EXPECT_EQ(r.out, "HELLO\n");
}

TEST(HarnessProcess, ReportsSignalsAndTimeouts) {
  RunResult killed = run({"sh", "-c", "kill -TERM $$"});
  EXPECT_FALSE(killed.status.exited);
  EXPECT_EQ(killed.status.signal, SIGTERM);
  EXPECT_EQ(killed.exit(), 128 + SIGTERM);

  auto start = Clock::now();
  RunResult slow = run({"sleep", "30"}, base_env(), std::nullopt, std::chrono::milliseconds(200));
  EXPECT_TRUE(slow.status.timed_out);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
}

TEST(HarnessProcess, ChildrenSeeOnlyTheGivenEnvironment) {
  Env env = base_env();
  env["E2E_MARK"] = "x1";
  RunResult r = run({"env"}, env);
  EXPECT_NE(r.out.find("E2E_MARK=x1\n"), std::string::npos);
  EXPECT_EQ(r.out.find("GTEST_"), std::string::npos) << r.out;
}

TEST(HarnessProcess, DestructionKillsTheWholeGroup) {
  TempDir tmp;
  const std::string pidfile = tmp.sub("grandchild.pid");
  pid_t grandchild = 0;
  {
    SpawnOptions o;
    o.argv = {"sh", "-c", "sleep 300 & echo $! > " + pidfile + "; wait"};
    Process p(std::move(o));
    ASSERT_TRUE(wait_until([&] { return file_exists(pidfile) && !trim(read_file(pidfile)).empty(); }, 5s));
    grandchild = std::stoi(trim(read_file(pidfile)));
  }
  // The grandchild is reaped by init once killed; give it a moment to disappear.
  EXPECT_TRUE(wait_until([&] { return ::kill(grandchild, 0) != 0; }, 5s)) << "grandchild " << grandchild << " survived";
}

TEST(HarnessPorts, FreePortIsBindableAndNothingListensOnIt) {
  int p = free_port();
  EXPECT_GT(p, 0);
  EXPECT_FALSE(tcp_connectable(p));
}

TEST(HarnessTempDir, IsRemovedOnDestruction) {
  std::string path;
  {
    TempDir t;
    path = t.path();
    write_file(t.sub("f"), "x");
    EXPECT_TRUE(file_exists(path + "/f"));
  }
  if (const char* keep = std::getenv("BASTION_KEEP_TMP"); keep == nullptr || std::string(keep) != "1") {
    EXPECT_FALSE(file_exists(path));
  }
}

// Direct: a real ssh client straight to the target sshd, with a key authorized on it and its host key
// pinned — proves SshdTarget works before any bastion is involved.
class HarnessSshd : public ::testing::Test {
 protected:
  void SetUp() override {
    target_.start();
    key_ = tmp_.sub("client_key");
    target_.authorize(ssh_keygen(key_, "direct"));
    write_file(tmp_.sub("known_hosts"),
               "[127.0.0.1]:" + std::to_string(target_.port()) + " " + target_.host_key_line() + "\n");
  }
  std::vector<std::string> ssh(std::vector<std::string> extra, const std::vector<std::string>& command) {
    std::vector<std::string> argv = {"ssh", "-F", "/dev/null", "-i", key_, "-o", "IdentitiesOnly=yes", "-o",
                                     "IdentityAgent=none", "-o", "UserKnownHostsFile=" + tmp_.sub("known_hosts"), "-o",
                                     "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-p",
                                     std::to_string(target_.port())};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(target_.login() + "@127.0.0.1");
    argv.insert(argv.end(), command.begin(), command.end());
    return argv;
  }

  TempDir tmp_;
  SshdTarget target_{tmp_.sub("target")};
  std::string key_;
};

TEST_F(HarnessSshd, AcceptsTheAuthorizedKeyAndPropagatesExitStatus) {
  RunResult r = run(ssh({}, {"echo direct-ok; exit 42"}));
  EXPECT_EQ(r.exit(), 42) << r.describe() << "\nsshd log:\n" << target_.log();
  EXPECT_EQ(r.out, "direct-ok\n");
}

TEST_F(HarnessSshd, RefusesAnUnknownKey) {
  ssh_keygen(tmp_.sub("other_key"), "other");
  auto argv = ssh({}, {"true"});
  argv[4] = tmp_.sub("other_key");
  RunResult r = run(argv);
  EXPECT_EQ(r.exit(), 255) << r.describe();
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
}

TEST_F(HarnessSshd, ServesSftp) {
  write_file(tmp_.sub("batch"), "pwd\n");
  std::vector<std::string> argv = {"sftp", "-F", "/dev/null", "-i", key_, "-o", "IdentitiesOnly=yes", "-o",
                                   "UserKnownHostsFile=" + tmp_.sub("known_hosts"), "-o", "BatchMode=yes", "-P",
                                   std::to_string(target_.port()), "-b", tmp_.sub("batch"),
                                   target_.login() + "@127.0.0.1"};
  RunResult r = run(argv);
  EXPECT_EQ(r.exit(), 0) << r.describe();
  EXPECT_NE(r.out.find("Remote working directory"), std::string::npos) << r.out;
}

TEST_F(HarnessSshd, PtyRunnerPassesWindowSizeAndTerm) {
  Env env = base_env();
  env["TERM"] = "xterm-256color";
  RunResult r = run_in_pty(ssh({"-t"}, {"stty size; echo term=$TERM; exit 7"}), env, "", 123, 45, 30s);
  EXPECT_EQ(r.exit(), 7) << r.describe();
  EXPECT_NE(r.out.find("45 123"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("term=xterm-256color"), std::string::npos) << r.out;
}

TEST_F(HarnessSshd, PtyRunnerTypesIntoAnInteractiveShell) {
  RunResult r = run_in_pty(ssh({"-t"}, {}), base_env(), "echo marker-$((6*7))\nexit 3\n", 80, 24, 30s);
  EXPECT_EQ(r.exit(), 3) << r.describe();
  EXPECT_NE(r.out.find("marker-42"), std::string::npos) << r.out;
}

TEST(HarnessAskpass, PrintsTheCurrentCodeOrAFixedOne) {
  TempDir tmp;
  const std::string secret = "JBSWY3DPEHPK3PXP";
  OperatorIdentity op("alice", tmp.path(), tmp.sub("key"), secret, tmp.sub("known_hosts"), 0);
  long long before = std::time(nullptr);
  RunResult r = run({op.env().at("SSH_ASKPASS"), "Verification code: "});
  long long after = std::time(nullptr);
  EXPECT_EQ(r.exit(), 0) << r.describe();
  std::string code = trim(r.out);
  EXPECT_TRUE(code == op.totp_code(before) || code == op.totp_code(after)) << code;
  EXPECT_EQ(code.size(), 6u);

  op.use_fixed_code("123456");
  EXPECT_EQ(trim(run({op.env().at("SSH_ASKPASS"), "again"}).out), "123456");
  EXPECT_EQ(op.askpass_prompts(), (std::vector<std::string>{"Verification code: ", "again"}));
}

}  // namespace
}  // namespace bastion::e2e
