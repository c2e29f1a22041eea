// Denial by size: an exec request of a megabyte is refused promptly with a reason, never left
// hanging, and the bastion's log says why the connection ended.
#include <gtest/gtest.h>

#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

using namespace std::chrono_literals;

TEST(HugeRequest, AMegabyteExecRequestEndsTheConnectionPromptlyWithALoggedReason) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("alice");
  // 1024 words of 1 KiB: one argv word is capped at 128 KiB by the kernel, the whole line is not.
  std::vector<std::string> command = {"echo"};
  for (int i = 0; i < 1024; ++i) command.push_back(std::string(1023, 'x'));
  const auto began = WallClock::now();
  RunResult r = run_as(op, op.ssh(op.user(env.login(), "web1"), command), std::nullopt, 60s);
  const double took = seconds_between(began, WallClock::now());
  EXPECT_FALSE(r.status.timed_out) << diag(env, r);
  EXPECT_LE(took, 15.0) << diag(env, r);
  EXPECT_NE(r.exit(), 0) << diag(env, r);
  EXPECT_EQ(r.out.find("xxxx"), std::string::npos) << "the target ran it";
  // libssh ends the connection at its 256 KiB packet limit; the operator's client, still writing,
  // sees it closed (reset, closed, or EPIPE on its next write: "Broken pipe", depending on where the
  // close finds it); the bastion says why.
  EXPECT_TRUE(mentions(r.err, "connection (reset|closed)|disconnect|refused|broken pipe")) << diag(env, r);
  EXPECT_TRUE(wait_until([&] { return mentions(env.bastion.log(), "connection ended by a protocol error: .*too high"); }, 5s))
      << diag(env, r);
}

// Below libssh's packet limit, the bastion's own: a 100 KiB line is refused with a message.
TEST(HugeRequest, ALineOverTheBastionsLimitIsRefusedWithAMessage) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("alice");
  std::vector<std::string> command = {"echo"};
  for (int i = 0; i < 100; ++i) command.push_back(std::string(1023, 'x'));
  RunResult r = run_as(op, op.ssh(op.user(env.login(), "web1"), command), std::nullopt, 60s);
  EXPECT_FALSE(r.status.timed_out) << diag(env, r);
  EXPECT_NE(r.exit(), 0) << diag(env, r);
  EXPECT_EQ(r.out.find("xxxx"), std::string::npos) << "the target ran it";
  EXPECT_TRUE(mentions(r.err, "longer than 64 KiB")) << diag(env, r);
}

}  // namespace
}  // namespace bastion::e2e
