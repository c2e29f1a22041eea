// Time-boxed means it ends (DESIGN.md rule 4): a running interactive session is cut when its grant
// expires or is revoked, when its account is disabled, or when an officer kills it — within about a
// second of the event (the session process checks once a second), with the reason on the operator's
// stderr. Each session here is `ssh -tt` whose stdin is a pipe the test holds open, running
// `sleep 30`, so nothing but the bastion can end it early.
#include <gtest/gtest.h>

#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/sshd_target.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

// kCutWithin: the bound on "ends within 2 s", plus the harness's own polling slack.
constexpr double kCutWithin = 2.5;

nlohmann::json add_grant(const TestEnv& env, const std::string& op, const std::string& duration) {
  nlohmann::json j = env.bastion.ctl_json({"grant", "add", "--operator", op, "--server", "web1", "--login", env.login(),
                                           "--ops", "shell", "--for", duration, "--reason", "e2e live"});
  if (j.contains("grant")) j = j["grant"];
  if (!j.contains("id") || !j.contains("not_after")) throw HarnessError("grant add --json: " + j.dump());
  return j;
}

// start_sleeping_shell opens `ssh -tt` to web1, waits until the remote shell answers and leaves it
// in `sleep 30`.
std::unique_ptr<LiveClient> start_sleeping_shell(const TestEnv& env, const OperatorIdentity& op, const std::string& fifo,
                                                 const std::vector<std::string>& extra = {},
                                                 const std::string& user = "") {
  std::vector<std::string> opts = {"-tt"};
  opts.insert(opts.end(), extra.begin(), extra.end());
  auto c = std::make_unique<LiveClient>(op.ssh(user.empty() ? op.user(env.login(), "web1") : user, {}, opts), op.env(),
                                        fifo);
  c->type("echo ready-$((6*7))\n");
  if (!c->wait_for_output("ready-42", 30s)) throw HarnessError("the shell never answered:\n" + diag(env, c->result()));
  c->type("sleep 30\n");
  return c;
}

TEST(LiveEnforcement, ExpiringGrantEndsTheRunningSession) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("op", /*ops=*/{});
  nlohmann::json g = add_grant(env, op.name(), "5s");
  const auto not_after = parse_utc(g["not_after"].get<std::string>());
  // No waiting for the remote shell's first answer here: on a loaded machine a login shell can take
  // most of the 5 s. The bastion proxies the session from the moment the channel opens.
  LiveClient ssh(op.ssh(op.user(env.login(), "web1"), {}, {"-tt"}), op.env(), env.tmp.sub("stdin"));
  ssh.type("echo ready-$((6*7)); sleep 30\n");

  auto status = ssh.wait(std::chrono::duration_cast<std::chrono::milliseconds>(not_after - WallClock::now()) + 10s);
  ASSERT_TRUE(status.has_value()) << "the session outlived its grant by 10 s\n" << diag(env, ssh.result());
  ASSERT_EQ(sessions_of(env.bastion, op.name()).size(), 1u) << "no session was opened\n" << diag(env, ssh.result());
  const double late = seconds_between(not_after, *ssh.ended_at());
  EXPECT_GE(late, -0.05) << "the session ended before its grant expired\n" << diag(env, ssh.result());
  EXPECT_LE(late, kCutWithin) << "ended " << late << " s after not_after\n" << diag(env, ssh.result());
  EXPECT_NE(status->exit_code(), 0);
  EXPECT_TRUE(mentions(ssh.err(), "expired")) << diag(env, ssh.result());
}

TEST(LiveEnforcement, RevokingTheGrantEndsTheRunningSession) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("op", /*ops=*/{});
  nlohmann::json g = add_grant(env, op.name(), "1h");
  auto ssh = start_sleeping_shell(env, op, env.tmp.sub("stdin"));
  const auto revoked = WallClock::now();
  env.bastion.ctl_ok({"grant", "revoke", std::to_string(g["id"].get<std::int64_t>())});

  auto status = ssh->wait(10s);
  ASSERT_TRUE(status.has_value()) << "the session outlived its revoked grant by 10 s\n" << diag(env, ssh->result());
  const double late = seconds_between(revoked, *ssh->ended_at());
  EXPECT_LE(late, kCutWithin) << "ended " << late << " s after the revocation\n" << diag(env, ssh->result());
  EXPECT_NE(status->exit_code(), 0);
  EXPECT_TRUE(mentions(ssh->err(), "revoked")) << diag(env, ssh->result());
}

TEST(LiveEnforcement, DisablingTheAccountEndsAllItsSessions) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("op", {"shell"});
  OperatorIdentity bystander = env.new_operator("other", {"shell"});
  // Two sessions of one account over one login (a TOTP code is accepted once), plus another account's.
  const std::string user = op.user(env.login(), "web1");
  Multiplexed mux(op, env.tmp.path() + "/cm-op", user);
  const std::vector<std::string> control = {"-o", "ControlMaster=auto", "-o", "ControlPath=" + env.tmp.path() + "/cm-op",
                                            "-o", "ControlPersist=120"};
  auto first = start_sleeping_shell(env, op, env.tmp.sub("stdin1"), control);
  auto second = start_sleeping_shell(env, op, env.tmp.sub("stdin2"), control);
  auto other = start_sleeping_shell(env, bystander, env.tmp.sub("stdin3"));
  const auto disabled = WallClock::now();
  env.bastion.ctl_ok({"operator", "disable", op.name()});

  for (LiveClient* c : {first.get(), second.get()}) {
    auto status = c->wait(10s);
    ASSERT_TRUE(status.has_value()) << "a session outlived its disabled account by 10 s\n" << diag(env, c->result());
    EXPECT_LE(seconds_between(disabled, *c->ended_at()), kCutWithin) << diag(env, c->result());
    EXPECT_TRUE(mentions(c->err(), "disabled")) << diag(env, c->result());
  }
  // Another account's session goes on.
  other->type("\003echo still-$((6*7))\n");
  EXPECT_TRUE(other->wait_for_output("still-42", 10s)) << diag(env, other->result());
}

// The key is the first factor: removing the one a connection authenticated with ends what that
// connection opened, with the reason; removing another key of the same account does not.
TEST(LiveEnforcement, RemovingTheKeyASessionUsedEndsIt) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("op", {"shell"});
  const std::string spare_key = op.dir() + "/spare_ed25519";
  ssh_keygen(spare_key, "spare");
  env.bastion.ctl_ok({"operator", "key", "add", op.name(), "--key", spare_key + ".pub"});
  auto keys = env.bastion.ctl_json({"operator", "show", op.name()})["keys"];
  ASSERT_EQ(keys.size(), 2u) << keys.dump();
  const std::string used = keys[0]["fingerprint"], spare = keys[1]["fingerprint"];

  auto ssh = start_sleeping_shell(env, op, env.tmp.sub("stdin"));
  env.bastion.ctl_ok({"operator", "key", "remove", op.name(), spare});
  EXPECT_FALSE(ssh->wait(3s).has_value()) << "removing another key ended the session\n" << diag(env, ssh->result());

  const auto removed = WallClock::now();
  env.bastion.ctl_ok({"operator", "key", "remove", op.name(), used});
  auto status = ssh->wait(10s);
  ASSERT_TRUE(status.has_value()) << "the session outlived its key by 10 s\n" << diag(env, ssh->result());
  EXPECT_LE(seconds_between(removed, *ssh->ended_at()), kCutWithin) << diag(env, ssh->result());
  EXPECT_NE(status->exit_code(), 0);
  // A fingerprint holds '+' and '/': searched as text, not as a regex.
  EXPECT_NE(ssh->err().find("key " + used + " of " + op.name() + " was removed"), std::string::npos)
      << diag(env, ssh->result());
}

TEST(LiveEnforcement, SessionsKillEndsThatSessionOnly) {
  TestEnv env;
  OperatorIdentity victim = env.new_operator("op", {"shell"});
  OperatorIdentity other = env.new_operator("other", {"shell"});
  auto killed = start_sleeping_shell(env, victim, env.tmp.sub("stdin1"));
  auto spared = start_sleeping_shell(env, other, env.tmp.sub("stdin2"));

  std::int64_t id = 0;
  for (const auto& s : env.bastion.ctl_json({"sessions", "list", "--live"})) {
    if (s["operator"] == victim.name()) id = s["id"].get<std::int64_t>();
  }
  ASSERT_NE(id, 0) << "sessions list --live --json shows no live session of " << victim.name() << "\n"
                   << env.bastion.ctl_ok({"sessions", "list", "--live"}).out;
  const auto at = WallClock::now();
  env.bastion.ctl_ok({"sessions", "kill", std::to_string(id)});

  auto status = killed->wait(10s);
  ASSERT_TRUE(status.has_value()) << "the killed session still runs 10 s later\n" << diag(env, killed->result());
  EXPECT_LE(seconds_between(at, *killed->ended_at()), kCutWithin) << diag(env, killed->result());
  EXPECT_TRUE(mentions(killed->err(), "ended by")) << diag(env, killed->result());
  spared->type("\003echo still-$((6*7))\n");
  EXPECT_TRUE(spared->wait_for_output("still-42", 10s)) << diag(env, spared->result());
  EXPECT_TRUE(spared->running());
}

}  // namespace
}  // namespace bastion::e2e
