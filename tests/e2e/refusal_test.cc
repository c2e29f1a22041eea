// Refusals: each way in that must stay shut, one test each. Every refusal must end the client with a
// non-zero status and show the operator why on stderr (a banner, a keyboard-interactive instruction
// or channel stderr — whichever the daemon uses, stock ssh prints it on stderr at its default
// LogLevel). The key phrases below are what the messages must contain, case-insensitive.
#include <gtest/gtest.h>

#include <ctime>
#include <regex>
#include <set>
#include <sstream>

#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

// Each phrase must be specific to its refusal: every TOTP prompt already says "Enter the 6-digit code",
// so "code" alone would match any login.
const char* const kWrongCode = "wrong|invalid|incorrect";
const char* const kReplayedCode = "already used|replay|reused";
const char* const kNotYourKey = "permission denied";  // the key is refused before any message can be sent
const char* const kNoGrant = "no grant|not granted";
const char* const kExpired = "expired";
const char* const kRevoked = "revoked";
const char* const kShared = "shared server";
const char* const kHostKey = "host key";
const char* const kServerDown = "cannot reach|unreachable|connection refused";

bool mentions(const std::string& text, const char* phrase) {
  return std::regex_search(text, std::regex(phrase, std::regex::icase | std::regex::extended));
}

#define EXPECT_REFUSED(env, r, phrase)                                                                  \
  do {                                                                                                  \
    EXPECT_NE((r).exit(), 0) << diag(env, r);                                                           \
    EXPECT_FALSE((r).status.timed_out) << diag(env, r);                                                 \
    EXPECT_TRUE(mentions((r).err, phrase)) << "stderr should say /" << (phrase) << "/\n" << diag(env, r); \
    EXPECT_EQ((r).out.find("never-here"), std::string::npos) << diag(env, r);                           \
  } while (0)

// The command every refused login tries: if it ever prints, the refusal did not hold.
const std::vector<std::string> kProbe = {"echo never-here"};

long long now_unix() { return static_cast<long long>(std::time(nullptr)); }

TEST(Refusal, WrongTotpCode) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("alice");
  // A code that is valid for none of the steps the bastion accepts (now ± 1) — "000000" could be.
  long long t = now_unix();
  std::set<std::string> valid;
  for (long long d : {-60, -30, 0, 30, 60}) valid.insert(op.totp_code(t + d));
  std::string wrong = "000000";
  for (int i = 0; valid.count(wrong); ++i) wrong = std::string(6 - std::to_string(i).size(), '0') + std::to_string(i);
  op.use_fixed_code(wrong);
  RunResult r = run_as(op, op.ssh(op.user(env.login(), "web1"), kProbe));
  EXPECT_REFUSED(env, r, kWrongCode);
}

TEST(Refusal, ReplayedTotpCode) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("alice");
  // One code, captured once, used twice within its validity (now ± 1 step: ≥ 30 s, both logins take
  // a few seconds). The first login must succeed, the second be refused as a replay.
  op.use_fixed_code(op.totp_code(now_unix()));
  RunResult first = run_as(op, op.ssh(op.user(env.login(), "web1"), {"echo first-ok"}));
  ASSERT_EQ(first.exit(), 0) << diag(env, first);
  ASSERT_EQ(first.out, "first-ok\n") << diag(env, first);
  RunResult again = run_as(op, op.ssh(op.user(env.login(), "web1"), kProbe));
  EXPECT_REFUSED(env, again, kReplayedCode);
}

TEST(Refusal, KeyOfAnotherOperator) {
  TestEnv env;
  OperatorIdentity alice = env.new_operator("alice");
  OperatorIdentity bob = env.new_operator("bob");
  OperatorIdentity alice_with_bobs_key = alice.with_key_of(bob);
  RunResult r = run_as(alice_with_bobs_key, alice_with_bobs_key.ssh(alice.user(env.login(), "web1"), kProbe));
  EXPECT_REFUSED(env, r, kNotYourKey);
}

TEST(Refusal, NoGrant) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("alice", /*ops=*/{});
  RunResult r = run_as(op, op.ssh(op.user(env.login(), "web1"), kProbe));
  EXPECT_REFUSED(env, r, kNoGrant);
}

// A window entirely in the past. If bastionctl refuses to create one (a legitimate choice), fall back
// to a grant of a few seconds and wait for its end: a time condition, not synchronisation.
TEST(Refusal, ExpiredGrant) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("alice", /*ops=*/{});
  auto utc = [](long long t, const char* fmt) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, fmt, &tm);
    return std::string(buf);
  };
  long long t = now_unix();
  bool granted = false;
  for (const char* fmt : {"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"}) {
    RunResult g = env.bastion.ctl({"grant", "add", "--operator", op.name(), "--server", "web1", "--login", env.login(),
                                   "--ops", "exec-any", "--reason", "e2e expired", "--from", utc(t - 7200, fmt),
                                   "--until", utc(t - 3600, fmt)});
    if (g.exit() == 0) {
      granted = true;
      break;
    }
  }
  if (!granted) {
    env.bastion.grant(op.name(), "web1", env.login(), {"exec-any"}, {"--for", "2s"});
    long long until = now_unix() + 3;
    ASSERT_TRUE(wait_until([&] { return now_unix() >= until; }, 10s));
  }
  RunResult r = run_as(op, op.ssh(op.user(env.login(), "web1"), kProbe));
  EXPECT_REFUSED(env, r, kExpired);
}

TEST(Refusal, RevokedGrant) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("alice", /*ops=*/{});
  std::int64_t id = env.bastion.grant(op.name(), "web1", env.login(), kAllOps);
  env.bastion.ctl_ok({"grant", "revoke", std::to_string(id)});
  RunResult r = run_as(op, op.ssh(op.user(env.login(), "web1"), kProbe));
  EXPECT_REFUSED(env, r, kRevoked);
}

TEST(Refusal, SharedServer) {
  TestEnv env;
  env.add_shared_server();
  OperatorIdentity op = env.new_operator("alice", /*ops=*/{});
  // A shared server can never be granted…
  RunResult g = env.bastion.ctl({"grant", "add", "--operator", op.name(), "--server", "shared1", "--login", env.login(),
                                 "--ops", "shell", "--for", "1h", "--reason", "e2e"});
  EXPECT_NE(g.exit(), 0) << g.describe();
  EXPECT_TRUE(mentions(g.err, kShared)) << g.describe();
  // …and the gateway refuses it again at connect time.
  RunResult r = run_as(op, op.ssh(op.user(env.login(), "shared1"), kProbe));
  EXPECT_REFUSED(env, r, kShared);
}

TEST(Refusal, HostKeyMismatch) {
  TestEnv env;
  // web2 is the same sshd, registered with the host key of some other machine.
  std::string other = ssh_keygen(env.tmp.sub("other_host_key"), "not-web2");
  std::istringstream in(other);
  std::string type, blob;
  in >> type >> blob;
  env.bastion.add_server("web2", env.target.port(), "dedicated", type + " " + blob);
  OperatorIdentity op = env.new_operator("alice", kAllOps, "web2");
  RunResult r = run_as(op, op.ssh(op.user(env.login(), "web2"), kProbe));
  EXPECT_REFUSED(env, r, kHostKey);
}

TEST(Refusal, ServerDown) {
  TestEnv env;
  int nothing_there = free_port();
  env.bastion.add_server("down1", nothing_there, "dedicated", env.target.host_key_line());
  OperatorIdentity op = env.new_operator("alice", kAllOps, "down1");
  RunResult r = run_as(op, op.ssh(op.user(env.login(), "down1"), kProbe));
  EXPECT_REFUSED(env, r, kServerDown);
}

}  // namespace
}  // namespace bastion::e2e
