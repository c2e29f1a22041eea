// Transfer limits (issue 13, point 4): scp, rsync and sftp entries limited to a direction and a
// path pattern, tried with the stock clients as an operator who wants more would. scp and rsync are
// limited on their server command line; SFTP — the sftp client and OpenSSH's default scp, which
// speaks SFTP — request by request in transit. Each refusal reaches the operator with the bastion's
// reason, and the files on the target prove nothing was written or read outside the grant; what is
// allowed arrives byte-exact.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/files.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

namespace fs = std::filesystem;

class TransferLimits : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = env_.scratch("server");
    client_ = env_.scratch("client");
    make_dirs(server_ + "/www");
    make_dirs(server_ + "/logs");
    make_dirs(server_ + "/other");
    write_file(server_ + "/www/index.html", "<h1>site</h1>\n");
    write_file(server_ + "/logs/app.log", "line 1\nline 2\n");
    write_file(server_ + "/secret", "not for the operator\n");
    write_random_file(client_ + "/upload.bin", 300 * 1024, 7);
    add({"www-up", "--type", "scp", "--direction", "upload", "--path", server_ + "/www/**"});
    add({"logs-down", "--type", "rsync", "--direction", "download", "--path", server_ + "/logs/**"});
    add({"www-rsync-up", "--type", "rsync", "--direction", "upload", "--path", server_ + "/www/**"});
    add({"sftp-up", "--type", "sftp", "--direction", "upload", "--path", server_ + "/www/**"});
    add({"sftp-down", "--type", "sftp", "--direction", "download", "--path", server_ + "/logs/**"});
  }

  void add(std::vector<std::string> args) {
    args.insert(args.begin(), {"catalogue", "add", "web1"});
    env_.bastion.ctl_ok(args);
  }

  // op: a fresh operator granted only `entry` (a TOTP code is accepted once: one per client run).
  OperatorIdentity op(const std::string& entry) { return env_.new_operator("op", {entry}); }

  RunResult scp(const std::string& entry, std::vector<std::string> args, bool legacy) {
    OperatorIdentity o = op(entry);
    if (legacy) args.insert(args.begin(), "-O");
    for (auto& a : args) {
      if (a.rfind("remote:", 0) == 0) a = o.remote(env_.login(), "web1", a.substr(7));
    }
    return run_as(o, o.scp(args), std::nullopt, 60s);
  }

  RunResult sftp(const std::string& entry, const std::string& batch) {
    OperatorIdentity o = op(entry);
    const std::string file = env_.tmp.sub("batch-" + std::to_string(++batches_));
    write_file(file, batch);
    return run_as(o, o.sftp(o.user(env_.login(), "web1"), file), std::nullopt, 60s);
  }

  RunResult rsync(const std::string& entry, std::vector<std::string> args) {
    OperatorIdentity o = op(entry);
    for (auto& a : args) {
      if (a.rfind("remote:", 0) == 0) a = o.remote(env_.login(), "web1", a.substr(7));
    }
    return run_as(o, o.rsync(args), std::nullopt, 60s);
  }

  void expect_refused(const RunResult& r, const std::string& why) {
    EXPECT_NE(r.exit(), 0) << diag(env_, r);
    EXPECT_FALSE(r.status.timed_out) << diag(env_, r);
    EXPECT_TRUE(mentions(r.err, "bastion: .*" + why)) << "want /bastion: .*" << why << "/\n" << diag(env_, r);
  }

  // refusals: the sftp.refused events so far, as "request path…".
  std::vector<std::string> refusals() {
    std::vector<std::string> out;
    for (const auto& e : events_of_kind(env_.bastion, "sftp.refused")) {
      std::string line = e["details"]["request"].get<std::string>();
      for (const auto& p : e["details"]["paths"]) line += " " + p.get<std::string>();
      out.push_back(line);
    }
    return out;
  }

  void scp_upload_only_under_its_path(bool legacy) {
    RunResult r = scp("www-up", {client_ + "/upload.bin", "remote:" + server_ + "/www/"}, legacy);
    ASSERT_EQ(r.exit(), 0) << diag(env_, r);
    EXPECT_EQ(same_bytes(client_ + "/upload.bin", server_ + "/www/upload.bin"), "");

    r = scp("www-up", {client_ + "/upload.bin", "remote:" + server_ + "/other/"}, legacy);
    expect_refused(r, legacy ? "not allowed by grant" : "refused");
    EXPECT_FALSE(file_exists(server_ + "/other/upload.bin")) << diag(env_, r);

    r = scp("www-up", {client_ + "/upload.bin", "remote:" + server_ + "/www/../other/"}, legacy);
    expect_refused(r, legacy ? "not allowed by grant" : "refused");
    EXPECT_FALSE(file_exists(server_ + "/other/upload.bin")) << diag(env_, r);

    r = scp("www-up", {"remote:" + server_ + "/www/index.html", client_ + "/index.html"}, legacy);
    expect_refused(r, legacy ? "scp download .*not allowed by grant" : "allows upload only");
    EXPECT_FALSE(file_exists(client_ + "/index.html")) << diag(env_, r);
  }

  TestEnv env_;
  std::string server_, client_;
  int batches_ = 0;
};

TEST_F(TransferLimits, ScpLegacyProtocolUploadsOnlyUnderItsPath) { scp_upload_only_under_its_path(true); }

TEST_F(TransferLimits, ScpDefaultSftpModeWorksUnderAnScpGrantLimitedTheSameWay) {
  scp_upload_only_under_its_path(false);
  const auto refused = refusals();
  ASSERT_FALSE(refused.empty());
  EXPECT_TRUE(std::any_of(refused.begin(), refused.end(), [&](const std::string& s) {
    return s == "open " + server_ + "/www/index.html";
  })) << ::testing::PrintToString(refused);
}

TEST_F(TransferLimits, RsyncDownloadsOnlyUnderItsPath) {
  RunResult r = rsync("logs-down", {"-a", "remote:" + server_ + "/logs/app.log", client_ + "/"});
  ASSERT_EQ(r.exit(), 0) << diag(env_, r);
  EXPECT_EQ(same_bytes(server_ + "/logs/app.log", client_ + "/app.log"), "");

  r = rsync("logs-down", {"-a", client_ + "/upload.bin", "remote:" + server_ + "/logs/"});
  expect_refused(r, "rsync upload .*not allowed by grant");
  EXPECT_FALSE(file_exists(server_ + "/logs/upload.bin"));

  r = rsync("logs-down", {"-a", "remote:" + server_ + "/secret", client_ + "/"});
  expect_refused(r, "rsync download .*not allowed by grant");
  EXPECT_FALSE(file_exists(client_ + "/secret"));

  r = rsync("logs-down", {"-a", "remote:" + server_ + "/logs/../secret", client_ + "/"});
  expect_refused(r, "not allowed by grant");
  EXPECT_FALSE(file_exists(client_ + "/secret"));
}

TEST_F(TransferLimits, RsyncUploadsOnlyUnderItsPath) {
  RunResult r = rsync("www-rsync-up", {"-a", client_ + "/upload.bin", "remote:" + server_ + "/www/"});
  ASSERT_EQ(r.exit(), 0) << diag(env_, r);
  EXPECT_EQ(same_bytes(client_ + "/upload.bin", server_ + "/www/upload.bin"), "");

  r = rsync("www-rsync-up", {"-a", "remote:" + server_ + "/www/index.html", client_ + "/"});
  expect_refused(r, "rsync download .*not allowed by grant");
  EXPECT_FALSE(file_exists(client_ + "/index.html"));

  r = rsync("www-rsync-up", {"-a", client_ + "/upload.bin", "remote:" + server_ + "/other/"});
  expect_refused(r, "rsync upload .*not allowed by grant");
  EXPECT_FALSE(file_exists(server_ + "/other/upload.bin"));

  r = rsync("www-rsync-up", {"-a", client_ + "/upload.bin", "remote:" + server_ + "/www/../other/"});
  expect_refused(r, "not allowed by grant");
  EXPECT_FALSE(file_exists(server_ + "/other/upload.bin"));
}

TEST_F(TransferLimits, SftpUploadOnlyPutsUnderItsPathAndRefusesTheRest) {
  RunResult r = sftp("sftp-up", "put " + client_ + "/upload.bin " + server_ + "/www/upload.bin\n");
  ASSERT_EQ(r.exit(), 0) << diag(env_, r);
  EXPECT_EQ(same_bytes(client_ + "/upload.bin", server_ + "/www/upload.bin"), "");

  r = sftp("sftp-up", "get " + server_ + "/www/index.html " + client_ + "/index.html\n");
  expect_refused(r, "open of '" + server_ + "/www/index.html' refused: entry 'sftp-up' allows upload only");
  EXPECT_FALSE(file_exists(client_ + "/index.html"));

  r = sftp("sftp-up", "put " + client_ + "/upload.bin " + server_ + "/other/upload.bin\n");
  expect_refused(r, "allows only paths matching");
  EXPECT_FALSE(file_exists(server_ + "/other/upload.bin"));

  r = sftp("sftp-up", "put " + client_ + "/upload.bin " + server_ + "/www/../other/upload.bin\n");
  expect_refused(r, "refused");
  EXPECT_FALSE(file_exists(server_ + "/other/upload.bin"));

  // A link inside the path pointing out of it would let the next open read /secret.
  r = sftp("sftp-up", "ln -s " + server_ + "/secret " + server_ + "/www/link\n");
  expect_refused(r, "symlink of '" + server_ + "/secret' to '" + server_ + "/www/link' refused");
  EXPECT_FALSE(fs::is_symlink(server_ + "/www/link"));
  r = sftp("sftp-up", "ln -s ../secret " + server_ + "/www/link\n");
  expect_refused(r, "a link's target too");
  EXPECT_FALSE(fs::is_symlink(server_ + "/www/link"));

  // Each refusal is an event naming the request and its paths.
  const auto refused = refusals();
  for (const std::string& want : {"open " + server_ + "/www/index.html",
                                  "symlink " + server_ + "/secret " + server_ + "/www/link",
                                  "symlink ../secret " + server_ + "/www/link"}) {
    EXPECT_NE(std::find(refused.begin(), refused.end(), want), refused.end())
        << want << " not in " << ::testing::PrintToString(refused);
  }
}

TEST_F(TransferLimits, SftpDownloadOnlyGetsUnderItsPathAndChangesNothing) {
  RunResult r = sftp("sftp-down", "get " + server_ + "/logs/app.log " + client_ + "/app.log\n");
  ASSERT_EQ(r.exit(), 0) << diag(env_, r);
  EXPECT_EQ(same_bytes(server_ + "/logs/app.log", client_ + "/app.log"), "");

  r = sftp("sftp-down", "put " + client_ + "/upload.bin " + server_ + "/logs/upload.bin\n");
  expect_refused(r, "allows download only");
  EXPECT_FALSE(file_exists(server_ + "/logs/upload.bin"));

  r = sftp("sftp-down", "rm " + server_ + "/logs/app.log\n");
  expect_refused(r, "remove of '" + server_ + "/logs/app.log' refused");
  EXPECT_TRUE(file_exists(server_ + "/logs/app.log"));

  r = sftp("sftp-down", "get " + server_ + "/secret " + client_ + "/secret\n");
  expect_refused(r, "allows only paths matching");
  EXPECT_FALSE(file_exists(client_ + "/secret"));
}

}  // namespace
}  // namespace bastion::e2e
