// The target runs exactly the words the catalogue matched (issue 13): a narrow exec grant sends its
// own single-quoted serialisation of the words, so the target's bash finds nothing to expand (braces,
// globs, tilde, comments, $…); a path word stays under the officer's path; rsync's server side is
// recognised by grammar, so --daemon through --rsync-path is refused; real scp and rsync transfers
// still work; and the explicit "any command" entry still passes a pipeline as typed. Each test proves
// it on the target: a marker file that must not exist, a secret that must not appear.
#include <gtest/gtest.h>
#include <pwd.h>

#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/files.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

// The attacks of issue 13 are bash's (brace expansion), so the target login must have bash as its
// login shell: the target's sshd runs every command line through it.
std::string login_shell(const std::string& login) {
  const passwd* pw = ::getpwnam(login.c_str());
  return pw && pw->pw_shell ? pw->pw_shell : "";
}

class CatalogueEscape : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(mentions(login_shell(env_.login()), "/bash$"))
        << env_.login() << "'s login shell is '" << login_shell(env_.login()) << "', these tests need bash";
  }

  // exec_entry: an exec catalogue entry on web1.
  void exec_entry(const std::string& name, const std::string& pattern) {
    env_.bastion.ctl_ok({"catalogue", "add", "web1", name, "--type", "exec", "--pattern", pattern});
  }

  // as: a fresh operator granted only `ops` on web1 (one login each: a TOTP code is accepted once).
  OperatorIdentity as(const std::vector<std::string>& ops) { return env_.new_operator("op", ops); }

  RunResult ssh(const std::vector<std::string>& ops, const std::string& line) {
    OperatorIdentity op = as(ops);
    return run_as(op, op.ssh(op.user(env_.login(), "web1"), {line}), std::nullopt, 30s);
  }

  // last_start: the newest session.start event.
  nlohmann::json last_start() {
    auto starts = events_of_kind(env_.bastion, "session.start");
    return starts.empty() ? nlohmann::json{} : starts.back();
  }

  TestEnv env_;
};

TEST_F(CatalogueEscape, BraceExpansionInAGrantedFindRunsNoOtherCommand) {
  const std::string logs = env_.scratch("logs");
  const std::string marker = env_.scratch("out") + "/pwned";
  exec_entry("find-names", "find " + logs + " -name * -print");
  const std::string attack = "find " + logs + " -name {x,-o,-exec,touch," + marker + ",\\;} -print";

  RunResult r = ssh({"find-names"}, attack);
  EXPECT_EQ(r.err.find("bastion:"), std::string::npos) << "the grant should allow the line\n" << diag(env_, r);
  EXPECT_FALSE(file_exists(marker)) << "touch ran on the target\n" << diag(env_, r);
  const auto start = last_start();
  EXPECT_EQ(start["details"]["operation"], "find-names");
  EXPECT_EQ(start["details"]["request"],
            "'find' '" + logs + "' '-name' '{x,-o,-exec,touch," + marker + ",;}' '-print'");

  // Control: the same line under the "any command" entry reaches bash as typed, and bash runs touch.
  RunResult raw = ssh({"exec-any"}, attack);
  EXPECT_TRUE(file_exists(marker)) << "the control did not reproduce the attack\n" << diag(env_, raw);
}

TEST_F(CatalogueEscape, BraceExpansionInAGrantedTailPrintsNoOtherFile) {
  const std::string logs = env_.scratch("logs");
  write_file(logs + "/app.log", "an ordinary log line\n");
  const std::string secret_file = env_.scratch("secrets") + "/shadow";
  const std::string secret = "SECRET-5f2c9a-not-for-operators";
  write_file(secret_file, secret + "\n");
  exec_entry("tail-logs", "tail -n * " + logs + "/*.log");
  const std::string attack = "tail -n {1," + secret_file + "} " + logs + "/app.log";

  RunResult r = ssh({"tail-logs"}, attack);
  EXPECT_EQ(r.err.find("bastion:"), std::string::npos) << diag(env_, r);
  EXPECT_EQ(r.out.find(secret), std::string::npos) << "the secret file was printed\n" << diag(env_, r);
  EXPECT_EQ(r.err.find(secret), std::string::npos) << diag(env_, r);

  RunResult raw = ssh({"exec-any"}, attack);
  EXPECT_NE(raw.out.find(secret), std::string::npos) << "the control did not reproduce the attack\n" << diag(env_, raw);
}

TEST_F(CatalogueEscape, AStarInAPathWordDoesNotCrossSlashOrDotDot) {
  const std::string logs = env_.scratch("logs");
  write_file(logs + "/app.log", "an ordinary log line\n");
  make_dirs(logs + "/nginx");
  const std::string secret = "SECRET-dotdot-7c1e";
  write_file(env_.scratch("secrets") + "/secret.log", secret + "\n");
  write_file(logs + "/nginx/deeper.log", secret + "\n");
  exec_entry("cat-logs", "cat " + logs + "/*.log");

  RunResult ok = ssh({"cat-logs"}, "cat " + logs + "/app.log");
  EXPECT_EQ(ok.exit(), 0) << diag(env_, ok);
  EXPECT_NE(ok.out.find("an ordinary log line"), std::string::npos) << diag(env_, ok);
  for (const std::string& path : {logs + "/../secrets/secret.log", logs + "/nginx/../../secrets/secret.log",
                                  logs + "/nginx/deeper.log"}) {
    RunResult r = ssh({"cat-logs"}, "cat " + path);
    EXPECT_NE(r.exit(), 0) << path << "\n" << diag(env_, r);
    EXPECT_TRUE(mentions(r.err, "bastion: .*not allowed")) << path << "\n" << diag(env_, r);
    EXPECT_EQ(r.out.find(secret), std::string::npos) << path << " was printed\n" << diag(env_, r);
  }
}

TEST_F(CatalogueEscape, RsyncDaemonModeThroughRsyncPathIsRefused) {
  const std::string dir = env_.scratch("daemon");
  const std::string marker = dir + "/early-exec-ran";
  const std::string conf = dir + "/evil.conf";
  // The config an operator could have uploaded under the same rsync grant: its `early exec` runs as
  // the login as soon as a client asks for module x.
  write_file(conf, "use chroot = no\n[x]\npath = " + dir + "\nread only = no\nearly exec = /usr/bin/touch " +
                       marker + "\n");
  const std::string src = env_.scratch("client") + "/f";
  write_file(src, "payload\n");

  OperatorIdentity op = as({"rsync"});
  RunResult r = run_as(op,
                       op.rsync({"--rsync-path=rsync --server --daemon --config=" + conf + " . x #", src,
                                 op.remote(env_.login(), "web1", "x/")}),
                       std::nullopt, 30s);
  EXPECT_NE(r.exit(), 0) << diag(env_, r);
  EXPECT_TRUE(mentions(r.err, "bastion: .*rsync option --daemon is not allowed")) << diag(env_, r);
  EXPECT_FALSE(file_exists(marker)) << "rsync's daemon mode ran its early exec\n" << diag(env_, r);
  for (const auto& e : events_of_kind(env_.bastion, "session.start")) {
    EXPECT_NE(e["actor"], op.name()) << "a session started: " << e.dump();
  }
}

TEST_F(CatalogueEscape, GlobTildeCommentAndDollarReachTheCommandAsLiteralWords) {
  exec_entry("echo", "echo *");
  RunResult r = ssh({"echo"}, "echo ~ *.txt {a,b} \\$HOME #comment after");
  EXPECT_EQ(r.exit(), 0) << diag(env_, r);
  EXPECT_EQ(r.out, "~ *.txt {a,b} $HOME #comment after\n") << diag(env_, r);

  // An unquoted $ is a substitution the bastion cannot vouch for: no wildcard stands for it.
  RunResult dollar = ssh({"echo"}, "echo $HOME");
  EXPECT_NE(dollar.exit(), 0) << diag(env_, dollar);
  EXPECT_TRUE(mentions(dollar.err, "bastion: .*not allowed")) << diag(env_, dollar);
  EXPECT_EQ(dollar.out.find('/'), std::string::npos) << diag(env_, dollar);
}

// Bytes that are not UTF-8 are refused before any entry is tried, the "any command" one included: a
// target whose shell reads a multibyte locale would take 0xa5 and the backslash after it for one
// character, leaving the ';' bare. The refusal reaches the operator and is an event.
TEST_F(CatalogueEscape, ALineThatIsNotUtf8IsRefusedEvenUnderTheAnyCommandEntry) {
  exec_entry("echo3", "echo * * *");
  const std::string marker = env_.scratch("out") + "/pwned";
  const std::string attack = "echo \xa5\\; touch " + marker;
  for (const char* entry : {"echo3", "exec-any"}) {
    RunResult r = ssh({entry}, attack);
    EXPECT_NE(r.exit(), 0) << entry << "\n" << diag(env_, r);
    EXPECT_TRUE(mentions(r.err, "bastion: .*not valid UTF-8")) << entry << "\n" << diag(env_, r);
    EXPECT_FALSE(file_exists(marker)) << entry << ": touch ran on the target\n" << diag(env_, r);
  }
  EXPECT_TRUE(events_of_kind(env_.bastion, "session.start").empty());
  const auto refused = events_of_kind(env_.bastion, "channel.refused");
  ASSERT_EQ(refused.size(), 2u) << env_.bastion.ctl_ok({"audit", "list"}).out;
  for (const auto& e : refused) {
    EXPECT_TRUE(mentions(e["details"]["reason"].get<std::string>(), "not valid UTF-8")) << e.dump();
  }
}

TEST_F(CatalogueEscape, LegacyScpTransfersStillWorkByteExact) {
  const std::string src = env_.scratch("tree");
  make_tree(src);
  const std::string remote = env_.scratch("server") + "/copy";
  const std::string back = env_.scratch("client") + "/back";

  OperatorIdentity up = as({"scp"});
  RunResult r = run_as(up, up.scp({"-O", "-r", "-p", src, up.remote(env_.login(), "web1", remote)}), std::nullopt, 120s);
  ASSERT_EQ(r.exit(), 0) << diag(env_, r);
  EXPECT_EQ(diff_trees(src, remote), "");
  EXPECT_EQ(last_start()["details"]["request"], "'scp' '-r' '-p' '-t' '" + remote + "'");

  OperatorIdentity down = as({"scp"});
  r = run_as(down, down.scp({"-O", "-r", down.remote(env_.login(), "web1", remote), back}), std::nullopt, 120s);
  ASSERT_EQ(r.exit(), 0) << diag(env_, r);
  EXPECT_EQ(diff_trees(src, back), "");
}

TEST_F(CatalogueEscape, RsyncTransfersStillWorkByteExact) {
  const std::string src = env_.scratch("tree");
  make_tree(src);
  const std::string remote = env_.scratch("server") + "/copy";
  const std::string back = env_.scratch("client") + "/back";

  OperatorIdentity up = as({"rsync"});
  RunResult r = run_as(up, up.rsync({"-az", "--delete", "--partial", src + "/", up.remote(env_.login(), "web1", remote + "/")}),
                       std::nullopt, 120s);
  ASSERT_EQ(r.exit(), 0) << diag(env_, r);
  EXPECT_EQ(diff_trees(src, remote), "");
  const std::string sent = last_start()["details"]["request"];
  EXPECT_TRUE(mentions(sent, "^'rsync' '--server' '-[a-zA-Z.0-9]+' '--delete' '--partial' '\\.' '" + remote + "/'$"))
      << sent;

  OperatorIdentity down = as({"rsync"});
  r = run_as(down, down.rsync({"-a", "--checksum", down.remote(env_.login(), "web1", remote + "/"), back + "/"}),
             std::nullopt, 120s);
  ASSERT_EQ(r.exit(), 0) << diag(env_, r);
  EXPECT_EQ(diff_trees(src, back), "");
}

TEST_F(CatalogueEscape, TheAnyCommandEntryPassesAPipelineAsTypedAndSaysSo) {
  const std::string line = "echo piped | tr a-z A-Z; echo {x,y}";
  RunResult r = ssh({"exec-any"}, line);
  EXPECT_EQ(r.exit(), 0) << diag(env_, r);
  EXPECT_EQ(r.out, "PIPED\nx y\n") << diag(env_, r);
  const auto start = last_start();
  EXPECT_EQ(start["details"]["any_command"], true) << start.dump();
  EXPECT_EQ(start["details"]["request_as_typed"], line) << start.dump();
  EXPECT_EQ(start["details"]["request"], line) << start.dump();
}

}  // namespace
}  // namespace bastion::e2e
