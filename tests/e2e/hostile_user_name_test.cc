// A user name is chosen by a stranger before any authentication: it reaches the audit trail only
// escaped and cut short, so `audit list` on an officer's terminal never carries its control bytes.
#include <gtest/gtest.h>
#include <libssh/libssh.h>

#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

bool has_control_byte(const std::string& s) {
  for (unsigned char c : s)
    if ((c < 0x20 && c != '\n') || c == 0x7f) return true;
  return false;
}

// try_user: one "none" authentication as `user` (OpenSSH's client refuses to send such names;
// an attacker's client does not). Returns libssh's answer to it.
int try_user(int port, const std::string& user) {
  ssh_session s = ssh_new();
  int verbosity = SSH_LOG_NOLOG;
  ssh_options_set(s, SSH_OPTIONS_HOST, "127.0.0.1");
  ssh_options_set(s, SSH_OPTIONS_PORT, &port);
  ssh_options_set(s, SSH_OPTIONS_USER, user.c_str());
  ssh_options_set(s, SSH_OPTIONS_LOG_VERBOSITY, &verbosity);
  int rc = ssh_connect(s);
  if (rc == SSH_OK) rc = ssh_userauth_none(s, nullptr);
  ssh_disconnect(s);
  ssh_free(s);
  return rc;
}

TEST(HostileUserName, EscapeSequencesInAUserNameAreStoredAndPrintedEscaped) {
  TestEnv env;
  // Clear the screen, set the window title, ring the bell: what a terminal would act on.
  const std::string hostile = "\x1b[2J\x1b]0;pwned\x07root";
  EXPECT_NE(try_user(env.bastion.port(), hostile), SSH_AUTH_SUCCESS);

  auto failures = events_of_kind(env.bastion, "auth.failure");
  ASSERT_FALSE(failures.empty()) << env.bastion.ctl_ok({"audit", "list"}).out;
  bool seen = false;
  for (const auto& e : failures) {
    const std::string user = e["details"]["user"];
    EXPECT_FALSE(has_control_byte(user)) << e.dump();
    EXPECT_FALSE(has_control_byte(e["actor"].get<std::string>())) << e.dump();
    seen |= user == "\\x1b[2J\\x1b]0;pwned\\x07root";
  }
  EXPECT_TRUE(seen) << failures[0].dump();
  const std::string table = env.bastion.ctl_ok({"audit", "list"}).out;
  EXPECT_FALSE(has_control_byte(table)) << "audit list printed raw control bytes";
  EXPECT_TRUE(mentions(table, "pwned")) << table;
}

TEST(HostileUserName, AVeryLongUserNameIsCutShort) {
  TestEnv env;
  EXPECT_NE(try_user(env.bastion.port(), std::string(4000, 'u')), SSH_AUTH_SUCCESS);
  auto failures = events_of_kind(env.bastion, "auth.failure");
  ASSERT_FALSE(failures.empty());
  for (const auto& e : failures) {
    EXPECT_EQ(e["details"]["user"], std::string(128, 'u') + "…") << e.dump().substr(0, 300);
  }
}

}  // namespace
}  // namespace bastion::e2e
