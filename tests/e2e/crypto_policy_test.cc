// Crypto policy: the algorithms the bastion offers operators, as judged by ssh-audit (Debian
// package ssh-audit) against the real daemon. No "[fail]" may appear; the warnings we accept are
// explained in etc/CRYPTO.md. Skipped, with the reason, where ssh-audit is not installed.
#include <gtest/gtest.h>

#include <sstream>

#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

bool have_ssh_audit() {
  RunResult r = run({"sh", "-c", "command -v ssh-audit"}, base_env(), std::nullopt, 10s);
  return r.exit() == 0;
}

TEST(CryptoPolicy, SshAuditFindsNothingFailing) {
  if (!have_ssh_audit()) GTEST_SKIP() << "ssh-audit is not installed (scripts/install-deps installs it)";
  TestEnv env;
  RunResult r = run({"ssh-audit", "-n", "-p", std::to_string(env.bastion.port()), "127.0.0.1"}, base_env(), std::nullopt, 60s);
  ASSERT_FALSE(r.status.timed_out) << r.describe();
  ASSERT_TRUE(mentions(r.out, "\\(gen\\) banner: SSH-2\\.0-")) << "ssh-audit did not reach the bastion:\n" << r.describe();
  std::istringstream lines(r.out);
  std::string failing;
  for (std::string line; std::getline(lines, line);) {
    if (line.find("[fail]") != std::string::npos) failing += line + "\n";
  }
  EXPECT_EQ(failing, "") << "ssh-audit failed these (full report below):\n" << r.out;
  // Only the ed25519 host key is offered, never SHA-1 "ssh-rsa".
  EXPECT_TRUE(mentions(r.out, "\\(key\\) ssh-ed25519")) << r.out;
  EXPECT_FALSE(mentions(r.out, "\\(key\\) ssh-rsa ")) << r.out;
}

}  // namespace
}  // namespace bastion::e2e
