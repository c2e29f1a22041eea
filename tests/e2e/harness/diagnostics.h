#pragma once
// diagnostics: what a failing end-to-end assertion prints — the client's result plus the tails of the
// daemon's and the target's logs, so a failure can be understood from the ctest output alone.
#include <string>

#include "tests/e2e/harness/process.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {

inline std::string diag(const TestEnv& env, const RunResult& r) {
  return r.describe() + "\n--- bastiond log (tail) ---\n" + env.bastion.log() + "\n--- target sshd log (tail) ---\n" +
         env.target.log();
}

}  // namespace bastion::e2e
