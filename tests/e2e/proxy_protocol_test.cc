// The front door (--proxy-protocol-from): a real HAProxy in TCP mode with send-proxy-v2 in front of
// bastiond. The real ssh client connects to HAProxy from 127.0.0.2 and 127.0.0.3 (ssh -b); the
// bastion sees, records, bans by, those addresses and never HAProxy's own (127.0.0.1). A peer not
// in the list that sends a PROXY header naming someone else is refused under its own address, and
// the trusted proxy itself gets nothing served without a valid header.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tests/e2e/harness/bans.h"
#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/haproxy.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/process.h"
#include "tests/e2e/harness/raw_connection.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

// via: the operator's ssh argv towards web1, aimed at HAProxy's port, from the loopback address `from`.
std::vector<std::string> via(const TestEnv& env, const OperatorIdentity& op, const Haproxy& hap,
                             const std::string& from, const std::vector<std::string>& command) {
  auto argv = op.ssh(op.user(env.login(), "web1"), command, {"-b", from});
  for (std::size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == "-p") argv[i + 1] = std::to_string(hap.port());
  return argv;
}

// v2_header: a PROXY v2 header (command PROXY, TCP over IPv4) claiming `src` (four bytes).
std::string v2_header(const std::string& src4) {
  const std::string sig("\r\n\r\n\0\r\nQUIT\n", 12);
  return sig + "\x21\x11" + std::string("\x00\x0c", 2) + src4 + std::string("\x7f\x00\x00\x01", 4) +
         std::string("\x30\x39\x00\x16", 4);
}

TEST(ProxyProtocol, OperatorsBehindHaproxyAreSeenBannedAndRecordedByTheirOwnAddress) {
  TestEnv env([](Bastion& b) {
    b.set_daemon_args({"--proxy-protocol-from", "127.0.0.1/32", "--lock-account-failures", "100",
                       "--log-level", "debug"});
  });
  Haproxy hap(env.tmp, {env.bastion.port()});
  OperatorIdentity alice = env.new_operator("alice");
  OperatorIdentity bob = env.new_operator("bob");

  // Through HAProxy from 127.0.0.2: in, and the session row and the audit say 127.0.0.2.
  RunResult in = run_as(alice, via(env, alice, hap, "127.0.0.2", {"echo via-haproxy"}));
  ASSERT_EQ(in.exit(), 0) << diag(env, in) << hap.log();
  EXPECT_NE(in.out.find("via-haproxy"), std::string::npos) << diag(env, in);
  auto rows = sessions_of(env.bastion, alice.name());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(mentions(rows[0]["source"].get<std::string>(), "^127\\.0\\.0\\.2:[0-9]+$")) << rows[0].dump();
  auto auths = events_of_kind(env.bastion, "auth.success");
  ASSERT_FALSE(auths.empty());
  EXPECT_TRUE(mentions(auths.back()["source"].get<std::string>(), "^127\\.0\\.0\\.2:[0-9]+$")) << auths.back().dump();
  EXPECT_TRUE(mentions(env.bastion.log(), "127\\.0\\.0\\.2:[0-9]+: connection via proxy 127\\.0\\.0\\.1:"))
      << env.bastion.log();

  // Six wrong codes from 127.0.0.2 through HAProxy: 127.0.0.2 is banned, not HAProxy.
  alice.use_fixed_code(wrong_code_for(alice, env.bastion.now_unix()));
  for (int i = 0; i < 2; ++i) {
    RunResult r = run_as(alice, via(env, alice, hap, "127.0.0.2", {"echo never-here"}));
    ASSERT_NE(r.exit(), 0) << diag(env, r);
  }
  alice.use_current_code();
  auto bans = bans_of(env.bastion);
  ASSERT_EQ(bans.size(), 1u) << env.bastion.ctl_ok({"audit", "list"}).out;
  EXPECT_EQ(bans[0]["subject"], "127.0.0.2");
  auto placed = events_of_kind(env.bastion, "ban.source");
  ASSERT_EQ(placed.size(), 1u);
  EXPECT_EQ(placed[0]["details"]["subject"], "127.0.0.2");

  // bob from the banned 127.0.0.2 is refused through HAProxy; from 127.0.0.3 he gets in.
  RunResult refused = run_as(bob, via(env, bob, hap, "127.0.0.2", {"echo never-here"}));
  EXPECT_NE(refused.exit(), 0) << diag(env, refused);
  EXPECT_EQ(refused.out.find("never-here"), std::string::npos);
  EXPECT_TRUE(mentions(env.bastion.log(), "127\\.0\\.0\\.2:[0-9]+: closed before SSH: .*banned")) << env.bastion.log();
  RunResult other = run_as(bob, via(env, bob, hap, "127.0.0.3", {"echo from-three"}));
  ASSERT_EQ(other.exit(), 0) << diag(env, other);
  EXPECT_NE(other.out.find("from-three"), std::string::npos);
  rows = sessions_of(env.bastion, bob.name());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(mentions(rows[0]["source"].get<std::string>(), "^127\\.0\\.0\\.3:[0-9]+$")) << rows[0].dump();

  // HAProxy's health checks (PROXY LOCAL) were closed quietly: no refusal, no failure, no ban of it.
  EXPECT_TRUE(mentions(env.bastion.log(), "127\\.0\\.0\\.1:[0-9]+: proxy health check")) << env.bastion.log();
  EXPECT_TRUE(events_of_kind(env.bastion, "proxy.refused").empty());
  EXPECT_EQ(bans_of(env.bastion).size(), 1u);
}

TEST(ProxyProtocol, ForgedHeadersAndMissingOnesAreRefused) {
  TestEnv env([](Bastion& b) { b.set_daemon_args({"--proxy-protocol-from", "127.0.0.1/32"}); });

  // 127.0.0.4 is not a trusted proxy: its header claiming 198.51.100.7 closes it, under its own name.
  RawConnection forged("127.0.0.4", env.bastion.port());
  ASSERT_TRUE(forged.send(v2_header(std::string("\xc6\x33\x64\x07", 4)) + "SSH-2.0-OpenSSH_9.2\r\n"));
  EXPECT_TRUE(forged.closed_within(5s)) << env.bastion.log();
  // A v1 text header from an untrusted peer, likewise.
  RawConnection forged_v1("127.0.0.5", env.bastion.port());
  ASSERT_TRUE(forged_v1.send("PROXY TCP4 198.51.100.7 127.0.0.1 12345 22\r\nSSH-2.0-OpenSSH_9.2\r\n"));
  EXPECT_TRUE(forged_v1.closed_within(5s)) << env.bastion.log();

  // The trusted proxy's own address without a header, and with a v1 header: refused, nothing served.
  RawConnection bare("127.0.0.1", env.bastion.port());
  ASSERT_TRUE(bare.send("SSH-2.0-OpenSSH_9.2\r\n"));
  EXPECT_EQ(bare.greeting(5s), "") << env.bastion.log();
  RawConnection v1("127.0.0.1", env.bastion.port());
  ASSERT_TRUE(v1.send("PROXY TCP4 198.51.100.7 127.0.0.1 12345 22\r\n"));
  EXPECT_EQ(v1.greeting(5s), "") << env.bastion.log();

  ASSERT_TRUE(wait_until([&] { return events_of_kind(env.bastion, "proxy.refused").size() == 4; }, 5s))
      << env.bastion.ctl_ok({"audit", "list"}).out;
  auto refused = events_of_kind(env.bastion, "proxy.refused");
  EXPECT_TRUE(mentions(refused[0]["source"].get<std::string>(), "^127\\.0\\.0\\.4:[0-9]+$")) << refused[0].dump();
  EXPECT_EQ(refused[0]["details"]["trusted"], false);
  EXPECT_TRUE(mentions(refused[1]["source"].get<std::string>(), "^127\\.0\\.0\\.5:[0-9]+$")) << refused[1].dump();
  EXPECT_EQ(refused[2]["details"]["trusted"], true);
  EXPECT_TRUE(mentions(refused[2]["details"]["reason"].get<std::string>(), "no PROXY v2 signature")) << refused[2].dump();
  EXPECT_TRUE(mentions(refused[3]["details"]["reason"].get<std::string>(), "v1")) << refused[3].dump();
  // The forged address is nowhere: not in the audit trail, not in the log.
  EXPECT_EQ(env.bastion.ctl_ok({"audit", "list", "--json"}).out.find("198.51.100.7"), std::string::npos);
  EXPECT_EQ(env.bastion.log().find("198.51.100.7"), std::string::npos);
  // An SSH client from an untrusted address still gets in directly.
  RawConnection direct("127.0.0.6", env.bastion.port());
  ASSERT_TRUE(direct.send("SSH-2.0-OpenSSH_9.2\r\n"));
  EXPECT_TRUE(is_ssh_banner(direct.greeting(5s))) << env.bastion.log();
}

}  // namespace
}  // namespace bastion::e2e
