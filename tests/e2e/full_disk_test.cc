// Fail closed on a full disk (DESIGN.md rule 5): when the recordings directory cannot take more,
// a new session is refused with a reason and an audit event, and a running one is ended rather
// than proxied unrecorded. The recordings directory is a tiny tmpfs mounted by the test.
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

// TinyDisk mounts a tmpfs of `size` over a directory for the life of the object.
class TinyDisk {
 public:
  TinyDisk(std::string path, const char* size) : path_(std::move(path)) {
    std::string opts = std::string("size=") + size + ",mode=0700";
    if (mount("tmpfs", path_.c_str(), "tmpfs", 0, opts.c_str()) != 0) error_ = std::strerror(errno);
  }
  ~TinyDisk() {
    if (error_.empty()) umount2(path_.c_str(), MNT_DETACH);
  }
  const std::string& error() const { return error_; }
  void fill() const {
    std::ofstream f(path_ + "/filler", std::ios::binary);
    const std::string block(4096, 'x');
    while (f.write(block.data(), static_cast<std::streamsize>(block.size()))) {
    }
  }

 private:
  std::string path_;
  std::string error_;
};

TEST(FullDisk, NewSessionIsRefusedWithAReasonAndAnEvent) {
  TestEnv env;
  TinyDisk disk(env.bastion.state_dir() + "/recordings", "64k");
  if (!disk.error().empty()) GTEST_SKIP() << "cannot mount a tmpfs here (" << disk.error() << "); needs CAP_SYS_ADMIN";
  disk.fill();
  OperatorIdentity op = env.new_operator("alice");
  RunResult r = run_as(op, op.ssh(op.user(env.login(), "web1"), {"echo should-not-run"}));
  EXPECT_NE(r.exit(), 0) << diag(env, r);
  EXPECT_EQ(r.out.find("should-not-run"), std::string::npos) << diag(env, r);
  EXPECT_NE(r.err.find("cannot be recorded"), std::string::npos) << diag(env, r);
  RunResult events = env.bastion.ctl({"audit", "list", "--kind", "channel.refused", "--json"});
  EXPECT_NE(events.out.find("cannot be recorded"), std::string::npos) << events.out << events.err;
}

TEST(FullDisk, RunningSessionEndsInsteadOfGoingOnUnrecorded) {
  TestEnv env;
  TinyDisk disk(env.bastion.state_dir() + "/recordings", "512k");
  if (!disk.error().empty()) GTEST_SKIP() << "cannot mount a tmpfs here (" << disk.error() << "); needs CAP_SYS_ADMIN";
  OperatorIdentity op = env.new_operator("alice");
  const std::size_t asked = 8u << 20;  // far more than the disk holds
  RunResult r = run_as(op, op.ssh(op.user(env.login(), "web1"), {"head -c " + std::to_string(asked) + " /dev/zero"}));
  EXPECT_EQ(r.exit(), 255) << diag(env, r);
  EXPECT_NE(r.err.find("recording cannot be written"), std::string::npos) << diag(env, r);
  // Nothing past what the recording holds reached the operator.
  EXPECT_LT(r.out.size(), std::size_t{512} << 10) << diag(env, r);
}

}  // namespace
}  // namespace bastion::e2e
