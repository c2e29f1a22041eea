// File transfers through the bastion, byte-exact: 1 GiB down and up over exec channels, and directory
// trees with scp (legacy protocol and SFTP mode), sftp and rsync.
#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/files.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

constexpr std::uint64_t kGiB = 1ull << 30;
constexpr auto kBigTimeout = std::chrono::seconds(300);

// The target is an sshd on this machine logged in as this user, so a path in the test's temp dir is
// the same file on "both sides".

TEST(Transfer, DownloadOneGibByteExact) {
  TestEnv env;
  const std::string src = env.scratch("server") + "/big.bin";
  const std::string dst = env.scratch("client") + "/big.bin";
  write_random_file(src, kGiB, 42);
  OperatorIdentity op = env.new_operator("alice");
  SpawnOptions o;
  o.argv = op.ssh(op.user(env.login(), "web1"), {"cat " + src});
  o.env = op.env();
  o.stdout_file = dst;
  RunResult r = run(std::move(o), kBigTimeout);
  ASSERT_EQ(r.exit(), 0) << diag(env, r);
  EXPECT_EQ(file_size(dst), kGiB);
  EXPECT_EQ(same_bytes(src, dst), "");
}

TEST(Transfer, UploadOneGibByteExact) {
  TestEnv env;
  const std::string src = env.scratch("client") + "/big.bin";
  const std::string dst = env.scratch("server") + "/big.bin";
  write_random_file(src, kGiB, 43);
  OperatorIdentity op = env.new_operator("alice");
  SpawnOptions o;
  o.argv = op.ssh(op.user(env.login(), "web1"), {"dd of=" + dst + " bs=1M status=none"});
  o.env = op.env();
  o.stdin_file = src;
  RunResult r = run(std::move(o), kBigTimeout);
  ASSERT_EQ(r.exit(), 0) << diag(env, r);
  EXPECT_EQ(file_size(dst), kGiB);
  EXPECT_EQ(same_bytes(src, dst), "");
}

// Upload `src` to a new remote directory and download it back into a new local one, each with its own
// login, then compare both copies with the original.
void scp_round_trip(TestEnv& env, const std::vector<std::string>& flags) {
  const std::string src = env.scratch("tree");
  make_tree(src);
  const std::string remote = env.scratch("server") + "/copy";
  const std::string back = env.scratch("client") + "/back";

  OperatorIdentity up = env.new_operator("up");
  std::vector<std::string> args = flags;
  args.insert(args.end(), {"-r", src, up.remote(env.login(), "web1", remote)});
  RunResult r = run_as(up, up.scp(args), std::nullopt, 120s);
  ASSERT_EQ(r.exit(), 0) << diag(env, r);
  EXPECT_EQ(diff_trees(src, remote), "");

  OperatorIdentity down = env.new_operator("down");
  args = flags;
  args.insert(args.end(), {"-r", down.remote(env.login(), "web1", remote), back});
  r = run_as(down, down.scp(args), std::nullopt, 120s);
  ASSERT_EQ(r.exit(), 0) << diag(env, r);
  EXPECT_EQ(diff_trees(src, back), "");
}

TEST(Transfer, ScpRecursiveLegacyProtocol) {
  TestEnv env;
  scp_round_trip(env, {"-O"});
}

TEST(Transfer, ScpRecursiveSftpMode) {
  TestEnv env;
  scp_round_trip(env, {"-s"});
}

TEST(Transfer, SftpBatchPutAndGetTree) {
  TestEnv env;
  const std::string src = env.scratch("tree");
  make_tree(src);
  const std::string remote = env.scratch("server") + "/copy";
  const std::string back = env.scratch("client") + "/back";
  const std::string batch = env.tmp.sub("sftp-batch");
  write_file(batch, "put -r " + src + " " + remote + "\nget -r " + remote + " " + back + "\nbye\n");

  OperatorIdentity op = env.new_operator("alice");
  RunResult r = run_as(op, op.sftp(op.user(env.login(), "web1"), batch), std::nullopt, 120s);
  ASSERT_EQ(r.exit(), 0) << diag(env, r);
  EXPECT_EQ(diff_trees(src, remote), "");
  EXPECT_EQ(diff_trees(src, back), "");
}

TEST(Transfer, RsyncArchiveTreeBothWays) {
  TestEnv env;
  const std::string src = env.scratch("tree");
  make_tree(src);
  const std::string remote = env.scratch("server") + "/copy";
  const std::string back = env.scratch("client") + "/back";

  OperatorIdentity up = env.new_operator("up");
  RunResult r = run_as(up, up.rsync({"-a", src + "/", up.remote(env.login(), "web1", remote + "/")}), std::nullopt,
                       120s);
  ASSERT_EQ(r.exit(), 0) << diag(env, r);
  EXPECT_EQ(diff_trees(src, remote), "");

  OperatorIdentity down = env.new_operator("down");
  r = run_as(down, down.rsync({"-a", down.remote(env.login(), "web1", remote + "/"), back + "/"}), std::nullopt, 120s);
  ASSERT_EQ(r.exit(), 0) << diag(env, r);
  EXPECT_EQ(diff_trees(src, back), "");
  // -a keeps modes: the executable stays executable.
  EXPECT_EQ(::access((back + "/sub/script.sh").c_str(), X_OK), 0);
}

}  // namespace
}  // namespace bastion::e2e
