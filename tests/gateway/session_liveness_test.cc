// Tests for gateway/session_liveness.cc against real processes.
#include "gateway/session_liveness.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace bastion::gateway {
namespace {

TEST(SessionLiveness, ARunningProcessIsAliveUnderItsOwnStartTimeOnly) {
  const int self = static_cast<int>(::getpid());
  const std::int64_t start = process_start_ticks(self);
  ASSERT_GT(start, 0);
  EXPECT_TRUE(session_process_alive(self, start));
  EXPECT_FALSE(session_process_alive(self, start + 1)) << "same pid, another start: a reused pid";
  EXPECT_TRUE(session_process_alive(self, 0)) << "a row without a start time trusts the pid";
}

TEST(SessionLiveness, AnExitedProcessIsGoneWhetherReapedOrAZombie) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  const std::int64_t start = process_start_ticks(child);
  // Not reaped yet: once it has exited it is a zombie, which counts as gone.
  for (int i = 0; i < 200 && session_process_alive(child, start); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_FALSE(session_process_alive(child, start));
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_FALSE(session_process_alive(child, start));
  EXPECT_EQ(process_start_ticks(child), 0);
  EXPECT_FALSE(session_process_alive(0, 0));
  EXPECT_FALSE(session_process_alive(-1, 0));
}

}  // namespace
}  // namespace bastion::gateway
