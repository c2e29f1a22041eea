// Several bastions, one truth (issue 19): two real bastiond nodes, "node-a" and "node-b", on one
// real PostgreSQL server of the test's own (tests/pg-test-server), in front of one real sshd, the
// operators logging in with real ssh (key + TOTP from oathtool). What one node does or learns holds
// on the other: a TOTP code is used once over both, failures on both count toward one lock, a kill
// or a revocation issued on one ends the session on the other within 2 s (woken by PostgreSQL's
// notice, also after a restart of PostgreSQL, with the poll set long), `sessions list --live`
// names each session's node, and `audit verify` finds one intact chain. Faults: PostgreSQL stopped
// (logins refused with the reason, live sessions ride out a grace, then end with the reason; back
// without a restart), and a node SIGKILLed (the other ends its live sessions as aborted once its
// heartbeat is older than the timeout). And the door in front: a real HAProxy over both nodes, where
// operators land on either, and a node killed sends its operators to the other.
#include <signal.h>

#include <functional>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/e2e/harness/bans.h"
#include "tests/e2e/harness/haproxy.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/pg_server.h"
#include "tests/e2e/harness/sshd_target.h"
#include "tests/e2e/harness/test_env.h"
#include "tests/e2e/harness/util.h"

namespace bastion::e2e {
namespace {

using Json = nlohmann::json;

// kCutWithin: the bound on "ends within 2 s", plus the harness's own polling slack.
constexpr double kCutWithin = 2.5;

// TwoNodes: a PostgreSQL server, an sshd target (server "web1", trusting the bastion's egress CA),
// and two bastiond nodes on that one database, sharing the keys `bastionctl init` made (one host
// key, one master key…), each started with `--node NAME` and `extra` options.
class TwoNodes {
 public:
  explicit TwoNodes(const std::vector<std::string>& extra = {})
      : tmp("bastion-nodes"),
        pg(tmp.sub("pg.state")),
        target(tmp.sub("target")),
        a(tmp.sub("a"), BASTIONCTL_PATH, BASTIOND_PATH),
        b(tmp.sub("b"), BASTIONCTL_PATH, BASTIOND_PATH) {
    if (!pg.available()) return;
    const std::string keys = tmp.sub("keys", true);
    a.use_database(pg.url(), keys);
    b.use_database(pg.url(), keys);
    a.init();
    target.reconfigure("TrustedUserCAKeys " + a.egress_ca_public_file() + "\n");
    target.start();
    target.authorize(a.egress_key());
    a.add_server("web1", target.port(), "dedicated", target.host_key_line());
    std::vector<std::string> args_a = {"--node", "node-a"}, args_b = {"--node", "node-b"};
    args_a.insert(args_a.end(), extra.begin(), extra.end());
    args_b.insert(args_b.end(), extra.begin(), extra.end());
    a.set_daemon_args(args_a);
    b.set_daemon_args(args_b);
    a.start();
    b.start();
    // The operators' known_hosts (node A's) pins the one host key for both ports.
    write_file(a.known_hosts(), read_file(a.known_hosts()) + read_file(b.known_hosts()));
  }
  ~TwoNodes() {
    a.stop();
    b.stop();
    target.stop();
  }

  const std::string& login() const { return target.login(); }

  // new_operator: a fresh operator (through node A's bastionctl) granted `ops` on web1 for an hour,
  // aimed at node A.
  OperatorIdentity new_operator(const std::string& name, const std::vector<std::string>& ops = {"shell"}) {
    OperatorIdentity op = a.add_operator(name);
    op.set_port(a.port());
    if (!ops.empty()) a.grant(op.name(), "web1", login(), ops);
    return op;
  }
  // via: the same operator aimed at another node.
  static OperatorIdentity via(const OperatorIdentity& op, const Bastion& node) {
    OperatorIdentity copy = op;
    copy.set_port(node.port());
    return copy;
  }

  std::string diag(const RunResult& r) const {
    return r.describe() + "\n--- node-a log (tail) ---\n" + a.log() +
           "\n--- node-b log (tail) ---\n" + b.log() + "\n--- target sshd log (tail) ---\n" + target.log();
  }

  TempDir tmp;
  PgServer pg;
  SshdTarget target;
  Bastion a, b;
};

// sleeping_shell opens `ssh -tt` to web1 through op's node, waits until the remote shell answers
// and leaves `cat` running in the foreground, idle until a line is typed (say()). Not a `sleep 60`
// broken by a ^C: a ^C that reaches the terminal while bash is still starting the sleep goes to
// bash, not to the sleep, and what is typed after it waits a minute unread (seen under load). A
// line typed to `cat` comes back twice, echoed by the terminal and written by cat: either way it
// has gone through the node to the server and back.
std::unique_ptr<LiveClient> sleeping_shell(const TwoNodes& n, const OperatorIdentity& op, const std::string& fifo) {
  auto c = std::make_unique<LiveClient>(op.ssh(op.user(n.login(), "web1"), {}, {"-tt"}), op.env(), fifo);
  c->type("echo ready-$((6*7))\n");
  if (!c->wait_for_output("ready-42", 30s)) throw HarnessError("the shell never answered:\n" + n.diag(c->result()));
  c->type("echo idle-$((6*7)); cat\n");
  if (!c->wait_for_output("idle-42", 30s)) throw HarnessError("the shell did not start cat:\n" + n.diag(c->result()));
  return c;
}

// say: a line to a sleeping_shell's `cat`; true once it came back.
bool say(LiveClient& live, const std::string& line, std::chrono::milliseconds timeout) {
  live.type(line + "\n");
  return live.wait_for_output(line, timeout);
}

// live_session: the live session of `operator_name`, as `sessions list --live --json` on `node`
// shows it; null if none.
Json live_session(const Bastion& node, const std::string& operator_name) {
  for (const auto& s : node.ctl_json({"sessions", "list", "--live"}))
    if (s["operator"] == operator_name) return s;
  return nullptr;
}

// expect_cut: after `act` (on one node), the session `live` (on the other) ends within the issue's
// 2 s, its operator told why (`reason`, a regex).
void expect_cut(const TwoNodes& n, LiveClient& live, const std::function<void()>& act, const std::string& reason) {
  const auto at = WallClock::now();
  act();
  const auto acted = WallClock::now();
  auto ended = live.wait(10s);
  ASSERT_TRUE(ended.has_value()) << "the session outlived it by 10 s\n" << n.diag(live.result());
  // Said in every run: how close to the bound a run comes is worth seeing before it fails.
  const double took = seconds_between(at, *live.ended_at());
  std::cerr << "cut " << took << " s after the change was asked (" << seconds_between(acted, *live.ended_at())
            << " s after the command returned)\n";
  EXPECT_LE(took, kCutWithin) << n.diag(live.result());
  EXPECT_TRUE(mentions(live.err(), reason)) << n.diag(live.result());
}

// has_line: some line of text holds both words.
bool has_line(const std::string& text, const std::string& first, const std::string& second) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.find(first) != std::string::npos && line.find(second) != std::string::npos) return true;
  return false;
}

std::string reason_of(const Json& e) {
  return e.contains("details") && e["details"].contains("reason") && e["details"]["reason"].is_string()
             ? e["details"]["reason"].get<std::string>()
             : "";
}

TEST(MultiNode, ACodeUsedOnOneNodeIsRefusedOnTheOther) {
  TwoNodes n;
  BASTION_REQUIRE_PG(n.pg);
  OperatorIdentity op = n.new_operator("op", {"exec-any"});
  op.use_fixed_code(op.totp_code(now_unix()));
  RunResult on_a = run_as(op, op.ssh(op.user(n.login(), "web1"), {"echo in-on-a"}));
  ASSERT_EQ(on_a.exit(), 0) << n.diag(on_a);
  ASSERT_NE(on_a.out.find("in-on-a"), std::string::npos) << n.diag(on_a);
  // Node A recorded it (the row names the node); node B plays it, reading the file where the row
  // says it is (here both nodes share the host; across hosts, a shared recordings directory).
  ASSERT_TRUE(wait_until([&] { auto rows = sessions_of(n.b, op.name()); return rows.size() == 1 && rows[0]["status"] != "live"; }, 30s));
  const Json recorded = sessions_of(n.b, op.name())[0];
  EXPECT_EQ(recorded["node"], "node-a");
  RunResult played = n.b.ctl({"sessions", "play", std::to_string(recorded["id"].get<std::int64_t>())});
  EXPECT_EQ(played.exit(), 0) << played.describe();
  EXPECT_EQ(played.out, "in-on-a\n") << played.describe();

  // The same code, the same key, on node B: refused, as a replay.
  OperatorIdentity on_b = TwoNodes::via(op, n.b);
  RunResult replayed = run_as(on_b, on_b.ssh(on_b.user(n.login(), "web1"), {"echo never-here"}));
  EXPECT_NE(replayed.exit(), 0) << n.diag(replayed);
  EXPECT_EQ(replayed.out.find("never-here"), std::string::npos) << n.diag(replayed);
  EXPECT_TRUE(mentions(replayed.err, "already used")) << n.diag(replayed);
  bool replay_recorded = false;
  for (const auto& e : events_of_kind(n.b, "auth.failure"))
    replay_recorded |= e["actor"] == op.name() && reason_of(e) == "replayed TOTP code";
  EXPECT_TRUE(replay_recorded) << n.b.ctl_ok({"audit", "list", "--kind", "auth.failure"}).out;
}

TEST(MultiNode, FailuresOnBothNodesCountTowardOneLock) {
  // Five failures lock an account; each refused connection is three (one per ssh prompt), so
  // neither node reaches five alone. Sources are not banned here (their own threshold is high).
  TwoNodes n({"--lock-account-failures", "5", "--ban-source-failures", "50"});
  BASTION_REQUIRE_PG(n.pg);
  OperatorIdentity op = n.new_operator("op", {"exec-any"});
  auto fail_on = [&](const OperatorIdentity& who) {
    who.use_fixed_code(wrong_code_for(who, now_unix()));
    RunResult r = run_as(who, who.ssh(who.user(n.login(), "web1"), {"echo never-here"}));
    who.use_current_code();
    EXPECT_NE(r.exit(), 0) << n.diag(r);
  };
  fail_on(op);
  EXPECT_TRUE(bans_of(n.a).empty()) << n.a.ctl_ok({"bans", "list", "--all"}).out;
  fail_on(TwoNodes::via(op, n.b));
  auto bans = bans_of(n.b);
  ASSERT_EQ(bans.size(), 1u) << n.b.ctl_ok({"bans", "list", "--all"}).out;
  EXPECT_EQ(bans[0]["kind"], "account");
  EXPECT_EQ(bans[0]["subject"], op.name());

  // Both factors right, on node A: refused, the lock named.
  RunResult locked = run_as(op, op.ssh(op.user(n.login(), "web1"), {"echo never-here"}));
  EXPECT_NE(locked.exit(), 0) << n.diag(locked);
  EXPECT_TRUE(mentions(locked.err, "account " + op.name() + " is locked")) << n.diag(locked);
}

TEST(MultiNode, EitherNodeEndsTheOthersSessionsAndListsBoth) {
  TwoNodes n;
  BASTION_REQUIRE_PG(n.pg);
  OperatorIdentity alice = n.new_operator("alice");
  OperatorIdentity bob = TwoNodes::via(n.new_operator("bob"), n.b);
  OperatorIdentity boss = TwoNodes::via(n.a.add_operator("boss", {"--role", "officer"}), n.b);
  auto alice_on_a = sleeping_shell(n, alice, n.tmp.sub("stdin-alice"));
  auto bob_on_b = sleeping_shell(n, bob, n.tmp.sub("stdin-bob"));

  // Each node lists both live sessions, each with its node's name: bastionctl…
  for (const Bastion* node : {&n.a, &n.b}) {
    const Json a_row = live_session(*node, alice.name()), b_row = live_session(*node, bob.name());
    ASSERT_FALSE(a_row.is_null() || b_row.is_null()) << node->ctl_ok({"sessions", "list", "--live"}).out;
    EXPECT_EQ(a_row["node"], "node-a");
    EXPECT_EQ(b_row["node"], "node-b");
  }
  // …and an officer over SSH (node B).
  RunResult listed = run_as(boss, boss.ssh(boss.user(), {"sessions", "list", "--live"}));
  ASSERT_EQ(listed.exit(), 0) << n.diag(listed);
  EXPECT_TRUE(has_line(listed.out, alice.name(), "node-a")) << listed.out;
  EXPECT_TRUE(has_line(listed.out, bob.name(), "node-b")) << listed.out;

  // `sessions kill` on node A ends bob's session on node B; a revocation through node B's
  // bastionctl ends alice's session on node A.
  const Json bob_row = live_session(n.a, bob.name());
  expect_cut(n, *bob_on_b, [&] { n.a.ctl_ok({"sessions", "kill", std::to_string(bob_row["id"].get<std::int64_t>())}); },
             "ended by");
  const Json alice_row = live_session(n.b, alice.name());
  expect_cut(n, *alice_on_a,
             [&] { n.b.ctl_ok({"grant", "revoke", std::to_string(alice_row["grant_id"].get<std::int64_t>())}); },
             "revoked");

  // Both nodes appended to one chain; each node's bastionctl verifies all of it. The closing
  // events are written once each session's process has finished with it.
  ASSERT_TRUE(wait_until([&] { return live_session(n.a, alice.name()).is_null() && live_session(n.a, bob.name()).is_null(); },
                         30s));
  for (const Bastion* node : {&n.a, &n.b}) {
    RunResult v = node->ctl({"audit", "verify"});
    EXPECT_EQ(v.exit(), 0) << v.describe();
    EXPECT_TRUE(mentions(v.out, "audit trail intact")) << v.describe();
  }
}

// settle: `live` goes on a few seconds more, so that its node has read the access version and
// keeps it (gateway/monitor.cc, Monitor::access_version), and still answers.
void settle(const TwoNodes& n, LiveClient& live, const std::string& marker) {
  std::this_thread::sleep_for(3s);
  ASSERT_TRUE(say(live, marker, 20s)) << n.diag(live.result());
}

// The wake-up (LISTEN/NOTIFY, migration 20). With the access version polled only every 30 s, a
// revocation through node B ends the live session on node A within the 2 s: only the
// notice node A heard can have made its check read the version in time. Again after PostgreSQL
// was stopped and started under a live session: node A's connection, lost and opened again,
// listens again.
TEST(MultiNode, ANoticeWakesTheOtherNodesLiveCheckAlsoAfterPostgresRestarted) {
  TwoNodes n({"--access-poll", "30"});
  BASTION_REQUIRE_PG(n.pg);
  OperatorIdentity alice = n.new_operator("alice");
  OperatorIdentity bob = n.new_operator("bob");
  OperatorIdentity later = n.new_operator("later", {"exec-any"});
  // grant_of: the grant of `who`'s live session, as node B sees it.
  auto grant_of = [&](const std::string& who) {
    const Json row = live_session(n.b, who);
    if (row.is_null()) throw HarnessError("no live session of " + who + ":\n" + n.b.ctl_ok({"sessions", "list", "--live"}).out);
    return std::to_string(row["grant_id"].get<std::int64_t>());
  };

  auto alice_on_a = sleeping_shell(n, alice, n.tmp.sub("stdin-alice"));
  settle(n, *alice_on_a, "settled");
  const std::string alice_grant = grant_of(alice.name());
  expect_cut(n, *alice_on_a, [&] { n.b.ctl_ok({"grant", "revoke", alice_grant}); }, "revoked");

  auto bob_on_a = sleeping_shell(n, bob, n.tmp.sub("stdin-bob"));
  n.pg.halt();
  n.pg.resume();
  // PostgreSQL answers node A again (a login through it), and bob's session rode the outage out.
  RunResult back = run_as(later, later.ssh(later.user(n.login(), "web1"), {"echo back-$((6*7))"}));
  ASSERT_EQ(back.exit(), 0) << n.diag(back);
  settle(n, *bob_on_a, "still-here");
  const std::string bob_grant = grant_of(bob.name());
  expect_cut(n, *bob_on_a, [&] { n.b.ctl_ok({"grant", "revoke", bob_grant}); }, "revoked");
}

// And the guarantee under the wake-up: a change whose notice never came (made here with the
// triggers off and the access version moved by hand, as a notice lost in some way its connection
// did not show) still ends the session, at node A's next poll of the access version (every 3 s).
TEST(MultiNode, AChangeWhoseNoticeWasLostIsSeenAtTheNextPoll) {
  TwoNodes n({"--access-poll", "3"});
  BASTION_REQUIRE_PG(n.pg);
  OperatorIdentity alice = n.new_operator("alice");
  auto live = sleeping_shell(n, alice, n.tmp.sub("stdin"));
  settle(n, *live, "settled");
  const Json row = live_session(n.b, alice.name());
  ASSERT_FALSE(row.is_null()) << n.b.ctl_ok({"sessions", "list", "--live"}).out;
  const std::string grant = std::to_string(row["grant_id"].get<std::int64_t>());
  RunResult silent = run({"psql", n.pg.url(), "-v", "ON_ERROR_STOP=1", "-c",
                          "BEGIN; SET LOCAL session_replication_role = replica; UPDATE grants SET revoked_at = " +
                              std::to_string(now_unix()) + " WHERE id = " + grant +
                              "; UPDATE access_version SET version = version + 1; COMMIT;"});
  ASSERT_EQ(silent.exit(), 0) << silent.describe();
  ASSERT_TRUE(live->wait(30s).has_value()) << "no poll saw the revocation\n" << n.diag(live->result());
  EXPECT_TRUE(mentions(live->err(), "revoked")) << n.diag(live->result());
}

TEST(MultiNode, PostgresOutageRefusesLoginsEndsSessionsAfterTheGraceAndRecovers) {
  TwoNodes n({"--db-grace", "12"});
  BASTION_REQUIRE_PG(n.pg);
  OperatorIdentity op = n.new_operator("op");
  OperatorIdentity later = n.new_operator("later", {"exec-any"});
  OperatorIdentity other = TwoNodes::via(n.new_operator("other", {"exec-any"}), n.b);
  auto live = sleeping_shell(n, op, n.tmp.sub("stdin"));

  n.pg.halt();
  // The running session goes on while the database is away…
  EXPECT_TRUE(say(*live, "still-here", 10s)) << n.diag(live->result());
  // …a new login is refused, saying why.
  RunResult refused = run_as(later, later.ssh(later.user(n.login(), "web1"), {"echo never-here"}));
  EXPECT_NE(refused.exit(), 0) << n.diag(refused);
  EXPECT_EQ(refused.out.find("never-here"), std::string::npos) << n.diag(refused);
  EXPECT_TRUE(mentions(refused.err, "database .*cannot be reached")) << n.diag(refused);
  // …and once the grace is over, the session ends with the reason.
  auto ended = live->wait(60s);
  ASSERT_TRUE(ended.has_value()) << "the session outlived the database's absence by a minute\n" << n.diag(live->result());
  EXPECT_TRUE(mentions(live->err(), "cannot be reached")) << n.diag(live->result());

  // PostgreSQL back: both nodes let people in again, without a restart.
  n.pg.resume();
  RunResult back = run_as(later, later.ssh(later.user(n.login(), "web1"), {"echo back-$((6*7))"}));
  EXPECT_EQ(back.exit(), 0) << n.diag(back);
  EXPECT_NE(back.out.find("back-42"), std::string::npos) << n.diag(back);
  RunResult back_b = run_as(other, other.ssh(other.user(n.login(), "web1"), {"echo b-back-$((6*7))"}));
  EXPECT_EQ(back_b.exit(), 0) << n.diag(back_b);
  EXPECT_NE(back_b.out.find("b-back-42"), std::string::npos) << n.diag(back_b);
  // The ended session's row is closed once its closing writes reach the database again.
  EXPECT_TRUE(wait_until([&] { return live_session(n.a, op.name()).is_null(); }, 60s))
      << n.a.ctl_ok({"sessions", "list", "--live"}).out << n.a.log();
}

TEST(MultiNode, ANodeKilledHasItsLiveSessionsMarkedAbortedByTheOther) {
  TwoNodes n({"--node-timeout", "4"});
  BASTION_REQUIRE_PG(n.pg);
  OperatorIdentity op = n.new_operator("op");
  OperatorIdentity again = TwoNodes::via(n.new_operator("again", {"exec-any"}), n.b);
  auto live = sleeping_shell(n, op, n.tmp.sub("stdin"));
  const Json row = live_session(n.b, op.name());
  ASSERT_FALSE(row.is_null()) << n.b.ctl_ok({"sessions", "list", "--live"}).out;
  ASSERT_EQ(row["node"], "node-a");
  const std::string id = std::to_string(row["id"].get<std::int64_t>());

  // Node A dies at once, its connections' processes with it (a host gone).
  n.a.signal_daemon(SIGKILL);
  ASSERT_TRUE(n.a.wait_daemon(10s).has_value());
  Json shown;
  ASSERT_TRUE(wait_until(
      [&] {
        shown = n.b.ctl_json({"sessions", "show", id});
        return shown["status"] == "aborted";
      },
      60s))
      << "node B never marked node A's session aborted: " << shown.dump() << "\n" << n.b.log();
  EXPECT_TRUE(mentions(shown["reason"].get<std::string>(), "node node-a stopped sending its heartbeat")) << shown.dump();
  bool recorded = false;
  for (const auto& e : events_of_kind(n.b, "session.aborted"))
    recorded |= e["session_id"] == row["id"] && e["details"]["node"] == "node-a" && e["details"]["ended_by_node"] == "node-b";
  EXPECT_TRUE(recorded) << n.b.ctl_ok({"audit", "list", "--kind", "session.aborted"}).out;

  // The operators carry on through node B, and the chain is whole.
  RunResult through_b = run_as(again, again.ssh(again.user(n.login(), "web1"), {"echo via-b-$((6*7))"}));
  EXPECT_EQ(through_b.exit(), 0) << n.diag(through_b);
  EXPECT_NE(through_b.out.find("via-b-42"), std::string::npos) << n.diag(through_b);
  RunResult v = n.b.ctl({"audit", "verify"});
  EXPECT_EQ(v.exit(), 0) << v.describe();
}

// A node whose listener stalls (SIGSTOP: its heartbeat stops, its sessions' processes run on) is
// taken for dead by the other; its session, finding its row ended elsewhere, ends itself.
TEST(MultiNode, ASessionOfAStalledNodeEndsOnceTheOtherNodeTookItForDead) {
  TwoNodes n({"--node-timeout", "4"});
  BASTION_REQUIRE_PG(n.pg);
  OperatorIdentity op = n.new_operator("op");
  auto live = sleeping_shell(n, op, n.tmp.sub("stdin"));
  n.a.signal_daemon(SIGSTOP);
  auto ended = live->wait(60s);
  n.a.signal_daemon(SIGCONT);
  ASSERT_TRUE(ended.has_value()) << "the session of the stalled node ran on for a minute\n" << n.diag(live->result());
  EXPECT_TRUE(mentions(live->err(), "marked aborted elsewhere: node node-a stopped sending its heartbeat"))
      << n.diag(live->result());
  const auto rows = sessions_of(n.b, op.name());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["status"], "aborted");
}

// The door in front: HAProxy (TCP, round robin, health checks, PROXY v2) over both nodes. Operators
// logging in through it land on both; node A killed mid-session, its operator reconnects through
// HAProxy and lands on node B, A's session row ends as aborted, and the session on B never noticed.
TEST(MultiNode, BehindHaproxyOperatorsLandOnBothNodesAndANodeKilledSendsThemToTheOther) {
  TwoNodes n({"--proxy-protocol-from", "127.0.0.1/32", "--node-timeout", "4"});
  BASTION_REQUIRE_PG(n.pg);
  Haproxy hap(n.tmp, {n.a.port(), n.b.port()});  // servers b1 (node A) and b2 (node B)
  auto through_haproxy = [&](OperatorIdentity op) {
    op.set_port(hap.port());
    return op;
  };
  OperatorIdentity alice = through_haproxy(n.new_operator("alice", {"shell", "exec-any"}));
  OperatorIdentity bob = through_haproxy(n.new_operator("bob", {"shell", "exec-any"}));
  auto alice_live = sleeping_shell(n, alice, n.tmp.sub("stdin-alice"));
  auto bob_live = sleeping_shell(n, bob, n.tmp.sub("stdin-bob"));
  const Json alice_row = live_session(n.b, alice.name()), bob_row = live_session(n.b, bob.name());
  ASSERT_FALSE(alice_row.is_null() || bob_row.is_null()) << n.b.ctl_ok({"sessions", "list", "--live"}).out;
  EXPECT_EQ((std::set<std::string>{alice_row["node"], bob_row["node"]}), (std::set<std::string>{"node-a", "node-b"}))
      << "round robin should have sent one login to each node\n" << hap.log();

  const bool alice_on_a = alice_row["node"] == "node-a";
  OperatorIdentity& was_on_a = alice_on_a ? alice : bob;
  LiveClient& live_on_a = alice_on_a ? *alice_live : *bob_live;
  LiveClient& live_on_b = alice_on_a ? *bob_live : *alice_live;
  const std::string id_on_a = std::to_string((alice_on_a ? alice_row : bob_row)["id"].get<std::int64_t>());

  // Node A dies at once, its connections' processes with it.
  n.a.signal_daemon(SIGKILL);
  ASSERT_TRUE(n.a.wait_daemon(10s).has_value());
  ASSERT_TRUE(live_on_a.wait(30s).has_value()) << "the connection to the dead node stayed up\n" << n.diag(live_on_a.result());
  // HAProxy's checks take node A out of the rotation; then its operator comes back through the
  // same door (with the next step's code: this step's was used by the first login).
  ASSERT_TRUE(wait_until([&] { return mentions(hap.log(), "b1 is DOWN"); }, 15s)) << hap.log();
  was_on_a.use_fixed_code(was_on_a.totp_code(now_unix() + 30));
  RunResult again = run_as(was_on_a, was_on_a.ssh(was_on_a.user(n.login(), "web1"), {"echo again-$((6*7))"}));
  EXPECT_EQ(again.exit(), 0) << n.diag(again) << "\n--- haproxy ---\n" << hap.log();
  EXPECT_NE(again.out.find("again-42"), std::string::npos) << n.diag(again);
  bool landed_on_b = false;
  for (const auto& row : sessions_of(n.b, was_on_a.name())) landed_on_b |= row["node"] == "node-b";
  EXPECT_TRUE(landed_on_b) << n.b.ctl_ok({"sessions", "list"}).out;

  // Node B takes node A for dead and ends its session as aborted.
  Json shown;
  EXPECT_TRUE(wait_until(
      [&] {
        shown = n.b.ctl_json({"sessions", "show", id_on_a});
        return shown["status"] == "aborted";
      },
      60s))
      << shown.dump() << "\n" << n.b.log();
  // The session on node B went on throughout.
  EXPECT_TRUE(say(live_on_b, "still-here", 10s)) << n.diag(live_on_b.result());
  RunResult v = n.b.ctl({"audit", "verify"});
  EXPECT_EQ(v.exit(), 0) << v.describe();
}

}  // namespace
}  // namespace bastion::e2e
