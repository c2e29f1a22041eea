// The catalogue decides what a grant allows: an exec-only grant runs its pattern and nothing else,
// a forward entry opens exactly its host:port, and agent forwarding, X11 and remote forwarding are
// never allowed (DESIGN.md rules 2 and 8). Every refusal reaches the operator on stderr with the
// bastion's reason, which names the operation and the grant.
#include <gtest/gtest.h>

#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

// An operator with one grant on web1 for `ops` only; its id in *grant_id.
OperatorIdentity granted(TestEnv& env, const std::vector<std::string>& ops, std::int64_t* grant_id) {
  OperatorIdentity op = env.new_operator("op", /*ops=*/{});
  *grant_id = env.bastion.grant(op.name(), "web1", env.login(), ops);
  return op;
}

class ExecOnlyGrant : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.bastion.ctl_ok({"catalogue", "add", "web1", "sysstatus", "--type", "exec", "--pattern", "systemctl status *"});
    op_ = std::make_unique<OperatorIdentity>(granted(env_, {"sysstatus"}, &grant_));
  }

  // expect_refused: non-zero, the bastion's reason on stderr naming `operation` (a regex) and the
  // grant, and the probe never ran.
  void expect_refused(const RunResult& r, const std::string& operation) {
    EXPECT_NE(r.exit(), 0) << diag(env_, r);
    EXPECT_FALSE(r.status.timed_out) << diag(env_, r);
    EXPECT_TRUE(mentions(r.err, "bastion: .*operation " + operation)) << "want /" << operation << "/\n" << diag(env_, r);
    EXPECT_TRUE(mentions(r.err, "grant " + std::to_string(grant_) + "[^0-9]")) << diag(env_, r);
    EXPECT_EQ(r.out.find("uid="), std::string::npos) << "a refused command ran:\n" << diag(env_, r);
  }

  TestEnv env_;
  std::int64_t grant_ = 0;
  std::unique_ptr<OperatorIdentity> op_;
};

TEST_F(ExecOnlyGrant, RunsTheMatchingCommand) {
  RunResult r = run_as(*op_, op_->ssh(op_->user(env_.login(), "web1"), {"systemctl", "status", "ssh"}));
  // systemctl itself may fail in a container; only the bastion's refusal matters here.
  EXPECT_FALSE(r.status.timed_out) << diag(env_, r);
  EXPECT_EQ(r.err.find("bastion:"), std::string::npos) << diag(env_, r);
  bool started = false;
  for (const auto& e : events_of_kind(env_.bastion, "session.start")) {
    if (e["actor"] == op_->name() && e["details"]["operation"] == "sysstatus") started = true;
  }
  EXPECT_TRUE(started) << "no session.start under catalogue entry sysstatus\n" << diag(env_, r);
}

TEST_F(ExecOnlyGrant, RefusesAShell) {
  RunResult r = run_as(*op_, op_->ssh(op_->user(env_.login(), "web1"), {}, {"-tt"}), std::string("id\nexit\n"), 30s);
  expect_refused(r, "shell");
}

TEST_F(ExecOnlyGrant, RefusesSftp) {
  const std::string batch = env_.tmp.sub("batch");
  write_file(batch, "ls /\n");
  RunResult r = run_as(*op_, op_->sftp(op_->user(env_.login(), "web1"), batch), std::nullopt, 30s);
  expect_refused(r, "sftp");
}

TEST_F(ExecOnlyGrant, RefusesAnotherCommand) {
  RunResult r = run_as(*op_, op_->ssh(op_->user(env_.login(), "web1"), {"uptime"}));
  expect_refused(r, "exec `uptime`");
}

TEST_F(ExecOnlyGrant, RefusesTheMatchingCommandChainedWithAnother) {
  RunResult r = run_as(*op_, op_->ssh(op_->user(env_.login(), "web1"), {"systemctl status ssh; id"}));
  expect_refused(r, "exec `systemctl status ssh; id`");
}

// ---------------------------------------------------------------------------------------------------
// Forwarding

std::vector<std::string> direct_to_target(const TestEnv& env, const OperatorIdentity& op,
                                          const std::vector<std::string>& extra, const std::string& command) {
  std::vector<std::string> argv = {"ssh", "-F", "/dev/null", "-i", op.key(), "-o", "IdentitiesOnly=yes",
                                   "-o", "UserKnownHostsFile=/dev/null", "-o",
                                   "StrictHostKeyChecking=no", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
                                   "-p", std::to_string(env.target.port())};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.insert(argv.end(), {env.login() + "@127.0.0.1", command});
  return argv;
}

// with_agent: argv without the harness's IdentityAgent=none (ssh keeps the first value it is given and
// "none" also stops -A from forwarding), plus -A; the agent comes from SSH_AUTH_SOCK.
std::vector<std::string> with_agent(std::vector<std::string> argv) {
  for (std::size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == "-o" && argv[i + 1] == "IdentityAgent=none") {
      argv.erase(argv.begin() + static_cast<std::ptrdiff_t>(i), argv.begin() + static_cast<std::ptrdiff_t>(i) + 2);
      break;
    }
  }
  argv.insert(argv.begin() + 1, "-A");
  return argv;
}

TEST(Forwarding, LocalForwardToTheCatalogueEntryCarriesBytesBothWays) {
  TestEnv env;
  EchoServer echo;
  const std::string dest = "127.0.0.1:" + std::to_string(echo.port());
  env.bastion.ctl_ok({"catalogue", "add", "web1", "echo-fwd", "--type", "forward", "--pattern", dest});
  std::int64_t grant = 0;
  OperatorIdentity op = granted(env, {"echo-fwd"}, &grant);
  const int local = free_port();
  LiveClient ssh(op.ssh(op.user(env.login(), "web1"), {},
                        {"-N", "-o", "ExitOnForwardFailure=yes", "-L", std::to_string(local) + ":" + dest}),
                 op.env(), env.tmp.sub("stdin"));

  std::string payload;
  for (int i = 0; i < 20000; ++i) payload += "forwarded-" + std::to_string(i) + "\n";
  std::optional<std::string> echoed;
  ASSERT_TRUE(wait_until([&] { return (echoed = tcp_round_trip(local, payload, 10s)).has_value() || !ssh.running(); },
                         30s))
      << "the -L listener never came up\n" << diag(env, ssh.result());
  ASSERT_TRUE(echoed.has_value()) << diag(env, ssh.result());
  EXPECT_EQ(echoed->size(), payload.size()) << diag(env, ssh.result());
  EXPECT_TRUE(*echoed == payload) << "the echoed bytes differ\n" << diag(env, ssh.result());
  EXPECT_EQ(echo.connections(), 1);
}

TEST(Forwarding, LocalForwardToAnotherPortIsRefused) {
  TestEnv env;
  EchoServer allowed, other;
  env.bastion.ctl_ok({"catalogue", "add", "web1", "echo-fwd", "--type", "forward", "--pattern",
                      "127.0.0.1:" + std::to_string(allowed.port())});
  std::int64_t grant = 0;
  OperatorIdentity op = granted(env, {"echo-fwd"}, &grant);
  const int local = free_port();
  LiveClient ssh(op.ssh(op.user(env.login(), "web1"), {},
                        {"-N", "-L", std::to_string(local) + ":127.0.0.1:" + std::to_string(other.port())}),
                 op.env(), env.tmp.sub("stdin"));
  std::optional<std::string> echoed;
  ASSERT_TRUE(wait_until([&] { return (echoed = tcp_round_trip(local, "hello", 10s)).has_value() || !ssh.running(); },
                         30s))
      << "the -L listener never came up\n" << diag(env, ssh.result());
  ASSERT_TRUE(echoed.has_value()) << diag(env, ssh.result());
  EXPECT_EQ(*echoed, "") << diag(env, ssh.result());
  EXPECT_EQ(other.connections(), 0) << "the bastion connected to a port the catalogue does not name";
  EXPECT_TRUE(wait_until([&] { return mentions(ssh.err(), "open failed"); }, 5s)) << diag(env, ssh.result());
}

// Rule: every channel decision is an audit event (audit/event_log.h), a refused forward included.
TEST(Forwarding, RefusedLocalForwardIsAudited) {
  TestEnv env;
  EchoServer other;
  std::int64_t grant = 0;
  OperatorIdentity op = granted(env, {"exec-any"}, &grant);
  const int local = free_port();
  const std::string dest = "127.0.0.1:" + std::to_string(other.port());
  LiveClient ssh(op.ssh(op.user(env.login(), "web1"), {}, {"-N", "-L", std::to_string(local) + ":" + dest}), op.env(),
                 env.tmp.sub("stdin"));
  std::optional<std::string> echoed;
  ASSERT_TRUE(wait_until([&] { return (echoed = tcp_round_trip(local, "hello", 10s)).has_value() || !ssh.running(); },
                         30s))
      << diag(env, ssh.result());
  EXPECT_EQ(other.connections(), 0);
  bool audited = false;
  for (const auto& e : events_of_kind(env.bastion, "channel")) {
    if (e["actor"] == op.name() && mentions(e.dump(), "refused") && e.dump().find(dest) != std::string::npos)
      audited = true;
  }
  EXPECT_TRUE(audited) << "no channel.* event records the refused forward to " << dest << "\n"
                       << env.bastion.ctl_ok({"audit", "list"}).out;
}

TEST(Forwarding, AgentForwardingIsRefused) {
  TestEnv env;
  SshAgent agent(env.tmp.sub("agent"));
  OperatorIdentity op = env.new_operator("op");
  const std::string probe = "echo sock=[$SSH_AUTH_SOCK]; ssh-add -l; true";
  // Control: straight to the target, the same client and options do forward the agent.
  env.target.authorize(read_file(op.key() + ".pub"));
  Env with_sock = base_env();
  with_sock["SSH_AUTH_SOCK"] = agent.socket();
  RunResult direct = run(with_agent(direct_to_target(env, op, {}, probe)), with_sock);
  ASSERT_NE(direct.out.find(agent.fingerprint()), std::string::npos) << "control failed: " << direct.describe();

  Env e = op.env();
  e["SSH_AUTH_SOCK"] = agent.socket();
  RunResult r = run(with_agent(op.ssh(op.user(env.login(), "web1"), {probe})), e);
  EXPECT_FALSE(r.status.timed_out) << diag(env, r);
  EXPECT_NE(r.out.find("sock=[]"), std::string::npos) << diag(env, r);
  EXPECT_EQ(r.out.find(agent.fingerprint()), std::string::npos) << "the agent reached the target\n" << diag(env, r);
}

TEST(Forwarding, X11IsRefused) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("op");
  Env x = op.env();
  x["DISPLAY"] = ":77";  // nothing listens there: only the request matters
  const std::string probe = "echo display=[$DISPLAY]";
  env.target.authorize(read_file(op.key() + ".pub"));
  RunResult direct = run(direct_to_target(env, op, {"-X"}, probe), x);
  ASSERT_TRUE(direct.out.find("display=[") != std::string::npos && direct.out.find("display=[]") == std::string::npos)
      << "control failed: " << direct.describe();

  RunResult r = run(op.ssh(op.user(env.login(), "web1"), {probe}, {"-X"}), x);
  EXPECT_FALSE(r.status.timed_out) << diag(env, r);
  EXPECT_NE(r.out.find("display=[]"), std::string::npos) << diag(env, r);
  EXPECT_TRUE(mentions(r.err, "X11 forwarding request failed")) << diag(env, r);
}

TEST(Forwarding, RemoteForwardIsRefused) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("op");
  RunResult r = run_as(op, op.ssh(op.user(env.login(), "web1"), {"sleep 10"},
                                  {"-R", "0:127.0.0.1:22", "-o", "ExitOnForwardFailure=yes"}),
                       std::nullopt, 30s);
  EXPECT_NE(r.exit(), 0) << diag(env, r);
  EXPECT_FALSE(r.status.timed_out) << diag(env, r);
  EXPECT_TRUE(mentions(r.err, "remote port forwarding failed")) << diag(env, r);
}

}  // namespace
}  // namespace bastion::e2e
