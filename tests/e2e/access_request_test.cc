// Access on request (issue 17), end to end with real ssh (key + TOTP): an operator asks over SSH,
// the client's reviewer and an officer approve over SSH, and only then does the operator's session
// work, for the requested operations only. Denied, cancelled and lapsed requests give nothing; the
// requester cannot approve their own request, one person cannot give both approvals, a reviewer of
// another client neither sees nor decides; the grant starts at the last approval (the daemon and
// bastionctl run on a shifted test clock); revoking the request's grant ends the live session and the
// request reads revoked; `audit verify` is intact after all of it. Break-glass:
// on a server needing its client's approval an officer's direct grant over SSH is refused unless it
// is --emergency with a reason, and then it works, flagged where the client's reviewer looks.
// Every account logs in once (TOTP codes are accepted once) and multiplexes its commands.
#include <gtest/gtest.h>

#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

using Json = nlohmann::json;
using std::chrono::hours;

class AccessRequest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Two exec entries beside kAllOps: the request asks for "hello" only.
    env_.bastion.ctl_ok({"catalogue", "add", "web1", "hello", "--type", "exec", "--pattern", "echo hello"});
    env_.bastion.ctl_ok({"catalogue", "add", "web1", "hostname", "--type", "exec", "--pattern", "hostname"});
    env_.bastion.ctl_ok({"client", "set-approvals", "acme", "client,officer"});
    env_.bastion.add_server("web2", env_.target.port(), "dedicated", env_.target.host_key_line(), "globex");
    alice_ = login_as(env_.new_operator("alice", /*ops=*/{}));
    carol_ = login_as(env_.bastion.add_operator("carol", {"--role", "client", "--client", "acme"}));
    gina_ = login_as(env_.bastion.add_operator("gina", {"--role", "client", "--client", "globex"}));
    boss_ = login_as(env_.bastion.add_operator("boss", {"--role", "officer"}));
  }

  struct Account {
    std::unique_ptr<OperatorIdentity> who;
    std::unique_ptr<Multiplexed> mux;
  };

  // login_as: the account and one multiplexed login of it.
  Account login_as(OperatorIdentity who) {
    Account a;
    a.who = std::make_unique<OperatorIdentity>(std::move(who));
    a.who->set_port(env_.bastion.port());
    a.mux = std::make_unique<Multiplexed>(*a.who, env_.tmp.path() + "/cm-" + a.who->name());
    return a;
  }

  // ask: alice asks over SSH for `ops` on web1 for one hour; returns the request id.
  std::int64_t ask(const std::string& ops = "hello") {
    RunResult r = alice_.mux->run({"request", "add", "web1", "--login", env_.login(), "--ops", ops, "--for", "1h",
                                   "--reason", "'ticket 4411'", "--json"});
    EXPECT_EQ(r.exit(), 0) << diag(env_, r);
    const Json j = Json::parse(r.out, nullptr, false);
    if (!j.is_object() || !j.contains("id")) throw HarnessError("request add gave no id:\n" + diag(env_, r));
    EXPECT_EQ(j["reason"], "ticket 4411");
    return j["id"].get<std::int64_t>();
  }

  // decide: `request VERB ID extra…` run by `who` over SSH.
  RunResult decide(const Account& who, const std::string& verb, std::int64_t id,
                   const std::vector<std::string>& extra = {}) {
    std::vector<std::string> cmd{"request", verb, std::to_string(id)};
    cmd.insert(cmd.end(), extra.begin(), extra.end());
    return who.mux->run(cmd);
  }

  // on_web1: alice runs `command` on web1 through the bastion (ssh alice@bastion LOGIN@web1 CMD).
  RunResult on_web1(const std::string& command) {
    return alice_.mux->run({env_.login() + "@web1", command});
  }

  Json shown(std::int64_t id) { return env_.bastion.ctl_json({"request", "show", std::to_string(id)}); }

  void expect_audit_intact() {
    RunResult verify = env_.bastion.ctl({"audit", "verify"});
    EXPECT_EQ(verify.exit(), 0) << diag(env_, verify);
  }

  TestEnv env_{[](Bastion& b) { b.use_test_clock(); }};
  Account alice_, carol_, gina_, boss_;
};

TEST_F(AccessRequest, ClientThenOfficerApprovalOpensTheRequestedOperationsOnly) {
  const auto id = ask();
  RunResult before = on_web1("echo hello");
  EXPECT_NE(before.exit(), 0) << diag(env_, before);
  EXPECT_EQ(before.out.find("hello"), std::string::npos) << diag(env_, before);

  // The requester cannot approve their own request.
  RunResult own = decide(alice_, "approve", id);
  EXPECT_NE(own.exit(), 0) << diag(env_, own);
  EXPECT_TRUE(mentions(own.err, "someone else must decide")) << diag(env_, own);

  // A reviewer of another client neither sees nor approves it.
  RunResult other_list = gina_.mux->run({"request", "list", "--all", "--json"});
  ASSERT_EQ(other_list.exit(), 0) << diag(env_, other_list);
  EXPECT_EQ(Json::parse(other_list.out), Json::array()) << other_list.out;
  RunResult other = decide(gina_, "approve", id);
  EXPECT_NE(other.exit(), 0) << diag(env_, other);
  EXPECT_TRUE(mentions(other.err, "no request with id")) << diag(env_, other);

  // The client's reviewer sees it waiting and approves first.
  RunResult pending = carol_.mux->run({"request", "list", "--pending", "--json"});
  ASSERT_EQ(pending.exit(), 0) << diag(env_, pending);
  ASSERT_EQ(Json::parse(pending.out).size(), 1u) << pending.out;
  RunResult by_carol = decide(carol_, "approve", id, {"--reason", "ok"});
  ASSERT_EQ(by_carol.exit(), 0) << diag(env_, by_carol);
  EXPECT_TRUE(mentions(by_carol.out, "waits for officer")) << diag(env_, by_carol);
  // One person never gives both approvals.
  RunResult twice = decide(carol_, "approve", id);
  EXPECT_NE(twice.exit(), 0) << diag(env_, twice);
  EXPECT_TRUE(mentions(twice.err, "already approved")) << diag(env_, twice);
  EXPECT_NE(on_web1("echo hello").exit(), 0);  // one approval of two gives nothing yet

  // Two hours later the officer approves: the grant's clock starts now, not at the request.
  env_.bastion.shift_clock(hours{2});
  const long long approved_at = env_.bastion.now_unix();
  RunResult by_boss = decide(boss_, "approve", id);
  ASSERT_EQ(by_boss.exit(), 0) << diag(env_, by_boss);
  const Json r = shown(id);
  EXPECT_EQ(r["state"], "active") << r.dump();
  const auto grant_id = r["grant_id"].get<std::int64_t>();
  const Json g = env_.bastion.ctl_json({"grant", "show", std::to_string(grant_id)});
  const double starts_after_approval =
      seconds_between(WallClock::time_point(std::chrono::seconds(approved_at)), parse_utc(g["not_before"]));
  EXPECT_GE(starts_after_approval, 0) << g.dump();
  EXPECT_LT(starts_after_approval, 60) << g.dump();
  EXPECT_EQ(g["request"]["id"], id) << g.dump();
  EXPECT_EQ(g["request"]["reason"], "ticket 4411") << g.dump();
  ASSERT_EQ(g["request"]["approvers"].size(), 2u) << g.dump();
  EXPECT_EQ(g["request"]["approvers"][0]["approver"], "carol");
  EXPECT_EQ(g["request"]["approvers"][1]["approver"], "boss");

  // The requested operation works; one not requested does not.
  RunResult hello = on_web1("echo hello");
  EXPECT_EQ(hello.exit(), 0) << diag(env_, hello);
  EXPECT_EQ(hello.out, "hello\n") << diag(env_, hello);
  RunResult host = on_web1("hostname");
  EXPECT_NE(host.exit(), 0) << diag(env_, host);
  EXPECT_TRUE(mentions(host.err, "hostname|catalogue|not granted|no granted")) << diag(env_, host);

  // Every transition is in the chain, and the chain is intact.
  EXPECT_EQ(events_of_kind(env_.bastion, "request.add").size(), 1u);
  EXPECT_EQ(events_of_kind(env_.bastion, "request.approve").size(), 2u);
  expect_audit_intact();
}

TEST_F(AccessRequest, DeniedCancelledAndLapsedRequestsGiveNoAccess) {
  env_.bastion.ctl_ok({"settings", "set", "pending-ttl", "1h"});
  const auto denied = ask();
  const auto cancelled = ask();
  const auto lapsing = ask();

  RunResult deny = decide(carol_, "deny", denied, {"--reason", "'change freeze'"});
  ASSERT_EQ(deny.exit(), 0) << diag(env_, deny);
  RunResult after_deny = decide(boss_, "approve", denied);  // one deny ends it
  EXPECT_NE(after_deny.exit(), 0) << diag(env_, after_deny);
  EXPECT_TRUE(mentions(after_deny.err, "already denied")) << diag(env_, after_deny);

  RunResult cancel = decide(alice_, "cancel", cancelled);
  ASSERT_EQ(cancel.exit(), 0) << diag(env_, cancel);
  EXPECT_NE(decide(boss_, "approve", cancelled).exit(), 0);

  // Nobody decides the third within the pending TTL: it lapses.
  RunResult half = decide(carol_, "approve", lapsing);
  ASSERT_EQ(half.exit(), 0) << diag(env_, half);
  env_.bastion.shift_clock(hours{1} + std::chrono::minutes{1});
  RunResult late = decide(boss_, "approve", lapsing);
  EXPECT_NE(late.exit(), 0) << diag(env_, late);
  EXPECT_TRUE(mentions(late.err, "lapsed")) << diag(env_, late);

  EXPECT_EQ(shown(denied)["state"], "denied");
  EXPECT_EQ(shown(cancelled)["state"], "cancelled");
  EXPECT_EQ(shown(lapsing)["state"], "lapsed");
  EXPECT_EQ(env_.bastion.ctl_json({"grant", "list"}), Json::array());
  RunResult hello = on_web1("echo hello");
  EXPECT_NE(hello.exit(), 0) << diag(env_, hello);
  EXPECT_EQ(hello.out.find("hello"), std::string::npos) << diag(env_, hello);

  // Told, not polled: alice's plain `request list` over SSH tells her what others decided.
  RunResult told = alice_.mux->run({"request", "list"});
  ASSERT_EQ(told.exit(), 0) << diag(env_, told);
  EXPECT_TRUE(mentions(told.out, "request " + std::to_string(denied) + " was denied by carol at .*: change freeze"))
      << diag(env_, told);
  EXPECT_TRUE(mentions(told.out, "request " + std::to_string(lapsing) + " lapsed at ")) << diag(env_, told);

  // The operator still sees them all, decided ones included.
  RunResult mine = alice_.mux->run({"request", "list", "--all", "--json"});
  ASSERT_EQ(mine.exit(), 0) << diag(env_, mine);
  EXPECT_EQ(Json::parse(mine.out).size(), 3u) << mine.out;
  EXPECT_EQ(events_of_kind(env_.bastion, "request.deny").size(), 1u);
  EXPECT_EQ(events_of_kind(env_.bastion, "request.cancel").size(), 1u);
  EXPECT_EQ(events_of_kind(env_.bastion, "request.lapse").size(), 1u);
  expect_audit_intact();
}

// Revoking a request's grant ends the operator's live session as any revocation does, and the
// request reads revoked, with its event in the chain.
TEST_F(AccessRequest, RevokingTheRequestsGrantEndsTheLiveSessionAndTheRequest) {
  env_.bastion.ctl_ok({"catalogue", "add", "web1", "nap", "--type", "exec", "--pattern", "sleep *"});
  const auto id = ask("nap");
  ASSERT_EQ(decide(carol_, "approve", id).exit(), 0);
  ASSERT_EQ(decide(boss_, "approve", id).exit(), 0);
  const auto grant_id = shown(id)["grant_id"].get<std::int64_t>();

  LiveClient live(alice_.mux->ssh({env_.login() + "@web1", "sleep 60"}), alice_.who->env(), env_.tmp.sub("nap.in"));
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& s : sessions_of(env_.bastion, alice_.who->name()))
          if (s["status"] == "live") return true;
        return false;
      },
      30s))
      << diag(env_, live.result());
  RunResult revoke = boss_.mux->run({"grant", "revoke", std::to_string(grant_id)});
  ASSERT_EQ(revoke.exit(), 0) << diag(env_, revoke);

  auto ended = live.wait(10s);
  ASSERT_TRUE(ended.has_value()) << "the session outlived its revoked grant by 10 s\n" << diag(env_, live.result());
  EXPECT_NE(ended->exit_code(), 0);
  EXPECT_TRUE(mentions(live.err(), "revoked")) << diag(env_, live.result());
  EXPECT_EQ(shown(id)["state"], "revoked");
  EXPECT_EQ(events_of_kind(env_.bastion, "request.revoke").size(), 1u);
  EXPECT_NE(on_web1("sleep 0").exit(), 0);
  expect_audit_intact();
}

TEST_F(AccessRequest, BreakGlassGrantWorksAndIsFlaggedWhereTheClientLooks) {
  const std::vector<std::string> direct{"grant", "add", "--operator", alice_.who->name(), "--server", "web1",
                                        "--login", env_.login(), "--ops", "hello", "--for", "1h"};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> cmd = direct;
    cmd.insert(cmd.end(), more.begin(), more.end());
    return boss_.mux->run(cmd);
  };
  RunResult refused = with({"--reason", "'ticket 4411'"});
  EXPECT_NE(refused.exit(), 0) << diag(env_, refused);
  EXPECT_TRUE(mentions(refused.err, "request add web1")) << diag(env_, refused);
  EXPECT_TRUE(mentions(refused.err, "--emergency")) << diag(env_, refused);
  EXPECT_NE(on_web1("echo hello").exit(), 0);

  RunResult glass = with({"--emergency", "--reason", "'database down, client unreachable'", "--json"});
  ASSERT_EQ(glass.exit(), 0) << diag(env_, glass);
  EXPECT_EQ(Json::parse(glass.out)["emergency"], true) << glass.out;
  RunResult hello = on_web1("echo hello");
  EXPECT_EQ(hello.exit(), 0) << diag(env_, hello);
  EXPECT_EQ(hello.out, "hello\n") << diag(env_, hello);

  // The client's reviewer, over SSH, sees the grant flagged and the event naming who and why.
  RunResult grants = carol_.mux->run({"grant", "list", "--json"});
  ASSERT_EQ(grants.exit(), 0) << diag(env_, grants);
  const Json seen = Json::parse(grants.out);
  ASSERT_EQ(seen.size(), 1u) << grants.out;
  EXPECT_EQ(seen[0]["emergency"], true) << grants.out;
  RunResult told = carol_.mux->run({"audit", "list", "--kind", "grant.emergency", "--json"});
  ASSERT_EQ(told.exit(), 0) << diag(env_, told);
  const Json events = Json::parse(told.out);
  ASSERT_EQ(events.size(), 1u) << told.out;
  EXPECT_EQ(events[0]["actor"], "boss") << told.out;
  EXPECT_EQ(events[0]["details"]["reason"], "database down, client unreachable") << told.out;
  // Another client's reviewer sees neither.
  RunResult other = gina_.mux->run({"grant", "list", "--json"});
  ASSERT_EQ(other.exit(), 0) << diag(env_, other);
  EXPECT_EQ(Json::parse(other.out), Json::array()) << other.out;
  expect_audit_intact();
}

TEST_F(AccessRequest, SharedServersAreRefusedAtOnceAndOperatorsGetNoOtherCommand) {
  env_.add_shared_server();
  RunResult shared = alice_.mux->run({"request", "add", "shared1", "--login", env_.login(), "--ops", "shell", "--for",
                                      "1h", "--reason", "x"});
  EXPECT_NE(shared.exit(), 0) << diag(env_, shared);
  EXPECT_TRUE(mentions(shared.err, "shared1 is shared")) << diag(env_, shared);
  RunResult grant = alice_.mux->run({"grant", "list"});
  EXPECT_NE(grant.exit(), 0) << diag(env_, grant);
  EXPECT_TRUE(mentions(grant.err, "officer command")) << diag(env_, grant);
  EXPECT_EQ(env_.bastion.ctl_json({"request", "list", "--all"}), Json::array());
}

}  // namespace
}  // namespace bastion::e2e
