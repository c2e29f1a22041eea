// Environment requests as a malicious operator sends them, against a target that accepts more than
// Debian's default (`AcceptEnv LANG LC_* BASH_ENV FOO`) and that has a BIG5 locale built with
// localedef in the test's temp dir (LOCPATH through the target's SetEnv): the bastion drops what
// its rule does not pass (README "Environment"), says so in a session.env_dropped event, and on the
// target nothing outside the grant runs.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

// A world whose target accepts the dangerous names and can load zh_TW.BIG5.
class EnvAttack : public ::testing::Test {
 protected:
  void SetUp() override {
    locales_ = env_.scratch("locales");
    RunResult built = run({"localedef", "-c", "-f", "BIG5", "-i", "zh_TW", locales_ + "/zh_TW.BIG5"});
    ASSERT_TRUE(std::filesystem::is_directory(locales_ + "/zh_TW.BIG5"))
        << "localedef (Debian package locales) could not build zh_TW.BIG5: " << built.out << built.err;
    env_.target.reconfigure("AcceptEnv LANG LC_* BASH_ENV FOO\nSetEnv LOCPATH=" + locales_ + "\n");
    work_ = env_.scratch("work");
    // BASH_ENV names a file a non-interactive bash sources before it runs the command.
    write_file(work_ + "/evil.sh", "touch " + work_ + "/bash-env-ran\n", 0644);
  }

  // set_env: the -o SetEnv option of OpenSSH's client, one env request per NAME=VALUE.
  static std::vector<std::string> set_env(const std::string& assignments) { return {"-o", "SetEnv=" + assignments}; }

  TestEnv env_;
  std::string locales_;
  std::string work_;
};

// The trick is real on this machine: in zh_TW.BIG5, bash reads 0xa5 '\' as one character, so the
// ';' after it separates commands. Without this, the test below would prove nothing.
TEST_F(EnvAttack, TheBig5BackslashTrickWorksWhenTheLocaleReachesBash) {
  const std::string marker = work_ + "/control";
  RunResult r = run({"env", "-i", "LOCPATH=" + locales_, "LC_ALL=zh_TW.BIG5", "/bin/bash", "-c",
                     "echo \xa5\\; touch " + marker});
  EXPECT_TRUE(file_exists(marker)) << r.out << r.err;
}

TEST_F(EnvAttack, ABig5LocaleIsDroppedSoTheEscapedSemicolonStaysOneWord) {
  env_.bastion.ctl_ok({"catalogue", "add", "web1", "echo3", "--type", "exec", "--pattern", "echo * * *"});
  OperatorIdentity op = env_.new_operator("mallory", {"echo3"});
  const std::string marker = work_ + "/pwned";
  RunResult r = run_as(op, op.ssh(op.user(env_.login(), "web1"), {"echo \xa5\\; touch " + marker},
                                  set_env("LC_ALL=zh_TW.BIG5 LC_CTYPE=zh_TW.BIG5")));
  EXPECT_FALSE(r.status.timed_out) << diag(env_, r);
  EXPECT_FALSE(file_exists(marker)) << "the target ran touch outside the grant\n" << diag(env_, r);

  // A bastion that refuses the line itself (bytes that are not UTF-8) opens no session and so drops
  // nothing; one that runs it must have dropped both locale requests first.
  auto dropped = events_of_kind(env_.bastion, "session.env_dropped");
  const auto started = events_of_kind(env_.bastion, "session.start");
  ASSERT_EQ(dropped.size(), started.size()) << env_.bastion.ctl_ok({"audit", "list"}).out;
  if (started.empty()) return;
  const auto& list = dropped[0]["details"]["dropped"];
  ASSERT_EQ(list.size(), 2u) << dropped[0].dump();
  EXPECT_EQ(list[0]["name"], "LC_ALL");
  EXPECT_EQ(list[0]["value"], "zh_TW.BIG5");
  EXPECT_EQ(list[0]["why"], "not a UTF-8 or C locale");
  EXPECT_EQ(list[1]["name"], "LC_CTYPE");
  EXPECT_EQ(dropped[0]["actor"], op.name());
}

TEST_F(EnvAttack, OnlyStrictLocalesAndAllowListedNamesReachTheTarget) {
  env_.bastion.ctl_ok({"server", "set-env", "web1", "FOO"});
  OperatorIdentity op = env_.new_operator("mallory");  // kAllOps: exec '*' lets `env` show what arrived
  RunResult r = run_as(op, op.ssh(op.user(env_.login(), "web1"), {"env"},
                                  set_env("LC_ALL=zh_TW.BIG5 BASH_ENV=" + work_ + "/evil.sh LANG=en_US.UTF-8 "
                                          "FOO=foo-passes LC_MESSAGES=/tmp/x")));
  ASSERT_EQ(r.exit(), 0) << diag(env_, r);
  EXPECT_FALSE(file_exists(work_ + "/bash-env-ran")) << "BASH_ENV reached the target's bash\n" << diag(env_, r);
  EXPECT_NE(r.out.find("\nLANG=en_US.UTF-8\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nFOO=foo-passes\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("LC_ALL="), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("BASH_ENV="), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("LC_MESSAGES="), std::string::npos) << r.out;
  // The target's own SetEnv still applies: the drop is the bastion's, not a dead sshd setting.
  EXPECT_NE(r.out.find("LOCPATH=" + locales_), std::string::npos) << r.out;

  auto dropped = events_of_kind(env_.bastion, "session.env_dropped");
  ASSERT_EQ(dropped.size(), 1u);
  std::vector<std::string> names;
  for (const auto& d : dropped[0]["details"]["dropped"]) names.push_back(d["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"LC_ALL", "BASH_ENV", "LC_MESSAGES"}));
}

TEST_F(EnvAttack, TheAllowListRefusesTheUnsafeSetAndShowsWhatItHolds) {
  for (const char* name : {"BASH_ENV", "LD_PRELOAD", "PATH", "SYSTEMD_PAGER", "LC_ALL", "BASH_FUNC_x%%"}) {
    RunResult r = env_.bastion.ctl({"server", "set-env", "web1", std::string("FOO,") + name});
    EXPECT_NE(r.exit(), 0) << name;
    EXPECT_TRUE(mentions(r.err, "cannot allow")) << r.err;
  }
  EXPECT_EQ(env_.bastion.ctl_json({"server", "show", "web1"})["allowed_env"], nlohmann::json::array());
  env_.bastion.ctl_ok({"server", "set-env", "web1", "FOO,APP_MODE"});
  EXPECT_EQ(env_.bastion.ctl_json({"server", "show", "web1"})["allowed_env"],
            (nlohmann::json{"FOO", "APP_MODE"}));
  EXPECT_TRUE(mentions(env_.bastion.ctl_ok({"server", "list"}).out, "FOO,APP_MODE"));
  EXPECT_EQ(events_of_kind(env_.bastion, "admin.server.set-env").size(), 1u);
}

// A terminal name is not a place for paths or escapes: the target is told vt100 instead.
TEST_F(EnvAttack, AnOddTerminalNameIsReplacedAndReported) {
  OperatorIdentity op = env_.new_operator("mallory");
  Env e = op.env();
  e["TERM"] = "../../tmp/evil";
  RunResult r = run(op.ssh(op.user(env_.login(), "web1"), {"echo TERM=$TERM"}, {"-tt"}), e);
  EXPECT_NE(r.out.find("TERM=vt100"), std::string::npos) << diag(env_, r);
  auto dropped = events_of_kind(env_.bastion, "session.env_dropped");
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0]["details"]["dropped"][0]["name"], "TERM");
  EXPECT_EQ(dropped[0]["details"]["dropped"][0]["value"], "../../tmp/evil");
}

}  // namespace
}  // namespace bastion::e2e
