#pragma once
// TestEnv: the usual world of an end-to-end test, built fresh per test in its own temp dir:
//   - one real sshd (SshdTarget) playing the client's server, accepting the bastion's egress key;
//   - one bastion (bastionctl init, then bastiond) with that sshd registered as server "web1"
//     (dedicated, client "acme", its real host key pinned) and the catalogue entries of kAllOps:
//     shell, exec-any (exec, pattern '*'), sftp, scp, rsync.
// Everything is torn down (daemons stopped, temp dir removed unless BASTION_KEEP_TMP=1) on destruction.
#include <functional>
#include <string>
#include <vector>

#include "tests/e2e/harness/bastion.h"
#include "tests/e2e/harness/sshd_target.h"
#include "tests/e2e/harness/util.h"

#ifndef BASTIOND_PATH
#error "BASTIOND_PATH must be defined (tests/e2e/CMakeLists.txt)"
#endif
#ifndef BASTIONCTL_PATH
#error "BASTIONCTL_PATH must be defined (tests/e2e/CMakeLists.txt)"
#endif

namespace bastion::e2e {

class TestEnv {
 public:
  TestEnv();
  // configure runs on the bastion once it is initialised and web1 registered, before bastiond starts
  // (daemon options, the test clock: Bastion::set_daemon_args, use_test_clock).
  explicit TestEnv(const std::function<void(Bastion&)>& configure);
  // TestEnv on the database at db_location (a postgresql:// URL: Bastion::use_database) instead of
  // the SQLite file; configure as above, if any.
  TestEnv(const std::string& db_location, const std::function<void(Bastion&)>& configure);
  ~TestEnv();

  TempDir tmp;
  SshdTarget target;
  Bastion bastion;

  // login: the account on the target the tests log in as (the user running the tests).
  const std::string& login() const { return target.login(); }

  // new_operator creates an operator named `<prefix><n>` (unique in this env) with a fresh key and
  // TOTP secret, and unless ops is empty grants it `login()` on `server` for `window`.
  OperatorIdentity new_operator(const std::string& prefix = "op", const std::vector<std::string>& ops = kAllOps,
                                const std::string& server = "web1",
                                const std::vector<std::string>& window = {"--for", "1h"});

  // add_shared_server registers the same sshd as server "shared1", kind shared.
  void add_shared_server();

  // scratch: a fresh directory under the temp dir, readable by the target (same machine, same user).
  std::string scratch(const std::string& name) const { return tmp.sub(name, true); }

 private:
  int next_operator_ = 1;
};

// ssh_run: run an ssh/scp/sftp/rsync argv as operator `op` (its askpass env) with optional stdin.
RunResult run_as(const OperatorIdentity& op, const std::vector<std::string>& argv,
                 std::optional<std::string> stdin_data = std::nullopt,
                 std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace bastion::e2e
