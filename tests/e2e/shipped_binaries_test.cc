// The programs that are installed carry no test hook: the clock a test can move through
// BASTION_TEST_CLOCK_FILE (authz/clock.h) exists only in the test builds the other e2e tests run
// (bastiond_test_hooks, bastionctl_test_hooks). Read like `strings bastiond | grep`.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

namespace bastion::e2e {
namespace {

constexpr std::string_view kHookName = "BASTION_TEST_CLOCK_FILE";

std::string file_bytes(const char* path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot read " << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(ShippedBinaries, InstalledBastiondAndBastionctlHaveNoTestClockHook) {
  for (const char* path : {SHIPPED_BASTIOND_PATH, SHIPPED_BASTIONCTL_PATH}) {
    const std::string bytes = file_bytes(path);
    ASSERT_GT(bytes.size(), 100000u) << path;
    EXPECT_EQ(bytes.find(kHookName), std::string::npos) << path << " names the test clock hook";
  }
}

// The search above would find the name if it were compiled in: the test builds have it.
TEST(ShippedBinaries, TestBuildsUsedByTheE2eTestsDoHaveIt) {
  for (const char* path : {BASTIOND_PATH, BASTIONCTL_PATH}) {
    EXPECT_NE(file_bytes(path).find(kHookName), std::string::npos) << path;
  }
}

}  // namespace
}  // namespace bastion::e2e
