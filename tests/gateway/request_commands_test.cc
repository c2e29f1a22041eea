// request add | list | show | cancel | approve | deny, server/client set-approvals and the
// pending TTL, run as each role against a real SQLite database with a FixedClock: the whole life
// of a request, who sees and decides what, and the audit event of every transition.
#include "tests/gateway/admin_fixture.h"

#include "authz/text.h"

namespace bastion::gateway::admin::testing {
namespace {

using ::testing::HasSubstr;
using std::chrono::hours;
using std::chrono::minutes;

class RequestCommandsTest : public AdminFixture {
 protected:
  void SetUp() override {
    AdminFixture::SetUp();
    setup_web1();
    ASSERT_EQ(run({"catalogue", "add", "web1", "logs", "--type", "exec", "--pattern", "journalctl -u nginx"}), kExitOk)
        << err_.str();
    add_account("carol", "client", "acme");
    add_account("gina", "client", "globex");
    add_account("oscar", "officer", "");
    ASSERT_EQ(run({"client", "set-approvals", "acme", "client,officer"}), kExitOk) << err_.str();
  }

  void add_account(const std::string& name, const std::string& role, const std::string& client) {
    // Each account needs a key of its own.
    const std::string key_file = dir_ + "/" + name + ".pub";
    std::ofstream(key_file) << key_for(name);
    std::vector<std::string> cmd{"operator", "add", name, "--key", key_file, "--role", role};
    if (!client.empty()) cmd.insert(cmd.end(), {"--client", client});
    ASSERT_EQ(run(cmd), kExitOk) << err_.str();
  }

  // key_for: a distinct ed25519 public key line per account (made once with ssh-keygen).
  static std::string key_for(const std::string& name) {
    static const char* const kKeys[] = {
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC6TQeeik0JS4HRlieMVOdUS0SZZtsgyHmTKjvmTu8Ng",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFICarpOKjjjWzENHNDTI/sJjdSO/RhhxAxeFior2etA",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKGy767mkfQKI2dty2TccDnNgXdE62XZzPiF2/RJBTvI",
    };
    const std::size_t i = name == "carol" ? 0 : name == "gina" ? 1 : name == "oscar" ? 2 : 3;
    if (i == 3) return std::string(kSecondKey);  // bob
    return std::string(kKeys[i]) + " " + name + "\n";
  }

  // ask: alice asks for `ops` on web1 as root for `span`; returns the request id.
  std::int64_t ask(const std::string& ops = "status,logs", const std::string& span = "2h",
                   std::vector<std::string> more = {}) {
    std::vector<std::string> cmd{"request", "add", "web1", "--login", "root", "--ops", ops, "--for", span,
                                 "--reason", "ticket 4411", "--json"};
    cmd.insert(cmd.end(), more.begin(), more.end());
    EXPECT_EQ(run(cmd, "alice", authz::Role::Operator), kExitOk) << err_.str();
    return Json::parse(out_.str()).at("id").get<std::int64_t>();
  }

  int as_carol(std::vector<std::string> cmd) { return run(std::move(cmd), "carol", authz::Role::Client, "acme"); }
  int as_gina(std::vector<std::string> cmd) { return run(std::move(cmd), "gina", authz::Role::Client, "globex"); }
  int as_alice(std::vector<std::string> cmd) { return run(std::move(cmd), "alice", authz::Role::Operator); }

  Json show(std::int64_t id) {
    EXPECT_EQ(run({"request", "show", std::to_string(id), "--json"}), kExitOk) << err_.str();
    return Json::parse(out_.str());
  }
};

TEST_F(RequestCommandsTest, ClientThenOfficerApprovalCreatesTheGrantAtTheLastApproval) {
  const auto id = ask();
  EXPECT_EQ(show(id).at("state"), "pending");
  EXPECT_EQ(show(id).at("waiting_for"), "client,officer");
  EXPECT_TRUE(store_->list_grants().empty());

  clock_.advance(hours{1});
  ASSERT_EQ(as_carol({"request", "approve", std::to_string(id), "--reason", "ok for tonight"}), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), "request " + std::to_string(id) + ": your client approval is recorded; it waits for officer\n");
  EXPECT_TRUE(store_->list_grants().empty());

  clock_.advance(hours{2});
  const Seconds last = clock_.now();
  ASSERT_EQ(run({"request", "approve", std::to_string(id)}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("approved; grant "));
  const auto grants = store_->list_grants();
  ASSERT_EQ(grants.size(), 1u);
  EXPECT_EQ(grants[0].operator_name, "alice");
  EXPECT_EQ(grants[0].ops, (std::vector<std::string>{"status", "logs"}));
  EXPECT_EQ(grants[0].not_before, last);  // the clock starts at the last approval, not at the request
  EXPECT_EQ(grants[0].not_after, last + hours{2});
  EXPECT_EQ(grants[0].granted_by, "olivia");

  const auto j = show(id);
  EXPECT_EQ(j.at("state"), "active");
  EXPECT_EQ(j.at("grant_id"), grants[0].id);
  ASSERT_EQ(j.at("approvals").size(), 2u);
  EXPECT_EQ(j.at("approvals")[0].at("approver"), "carol");
  EXPECT_EQ(j.at("approvals")[1].at("approver"), "olivia");

  // grant show names the request, its reason and the approvers.
  ASSERT_EQ(run({"grant", "show", std::to_string(grants[0].id)}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("request:    " + std::to_string(id) + " by alice: ticket 4411"));
  EXPECT_THAT(out_.str(), HasSubstr("approvers:  carol (client) at 2026-11-23 11:00:00 UTC, olivia (officer) at"));
  ASSERT_EQ(run({"grant", "show", std::to_string(grants[0].id), "--json"}), kExitOk);
  EXPECT_EQ(Json::parse(out_.str()).at("request").at("id"), id);

  clock_.advance(hours{2});
  EXPECT_EQ(show(id).at("state"), "expired");

  // Every transition is an event in the chain.
  EXPECT_EQ(events_of("request.add").size(), 1u);
  const auto approvals = events_of("request.approve");
  ASSERT_EQ(approvals.size(), 2u);
  EXPECT_EQ(approvals[0].event.actor, "carol");
  EXPECT_EQ(approvals[0].event.details.at("as"), "client");
  EXPECT_EQ(approvals[1].event.details.at("after").at("grant_id"), grants[0].id);
  const auto granted = events_of("admin.grant.add");
  ASSERT_EQ(granted.size(), 1u);
  EXPECT_EQ(granted[0].event.details.at("request"), id);
  EXPECT_EQ(granted[0].event.details.at("approvers").size(), 2u);
}

TEST_F(RequestCommandsTest, FromLaterThanTheLastApprovalStartsTheGrantThen) {
  const auto id = ask("status", "1h", {"--from", "2026-11-23 18:00"});
  ASSERT_EQ(as_carol({"request", "approve", std::to_string(id)}), kExitOk) << err_.str();
  ASSERT_EQ(run({"request", "approve", std::to_string(id)}), kExitOk) << err_.str();
  const auto g = store_->list_grants().at(0);
  EXPECT_EQ(format_utc(g.not_before), "2026-11-23 18:00:00 UTC");
  EXPECT_EQ(format_utc(g.not_after), "2026-11-23 19:00:00 UTC");
  EXPECT_EQ(show(id).at("state"), "approved");
}

TEST_F(RequestCommandsTest, TheDurationIsCheckedAgainAtTheLastApproval) {
  const auto id = ask("status", "8h");
  ASSERT_EQ(run({"settings", "set", "max-grant-duration", "4h"}), kExitOk);
  ASSERT_EQ(as_carol({"request", "approve", std::to_string(id)}), kExitOk) << err_.str();
  EXPECT_EQ(run({"request", "approve", std::to_string(id)}), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("asks for 8h, longer than the maximum grant duration now (4h)"));
  EXPECT_TRUE(store_->list_grants().empty());
  EXPECT_EQ(show(id).at("approvals").size(), 1u);  // the refused approval left nothing behind
  EXPECT_EQ(events_of("request.approve").size(), 1u);
}

TEST_F(RequestCommandsTest, TheRequesterCannotApproveNorOnePersonGiveBothApprovals) {
  const auto id = ask();
  EXPECT_EQ(as_alice({"request", "approve", std::to_string(id)}), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("someone else must decide it"));
  ASSERT_EQ(run({"request", "approve", std::to_string(id)}), kExitOk) << err_.str();
  EXPECT_EQ(run({"request", "approve", std::to_string(id)}), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("you already approved request"));
  EXPECT_EQ(run({"request", "approve", std::to_string(id)}, "oscar"), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("already has its officer approval (from olivia)"));
  EXPECT_TRUE(store_->list_grants().empty());
  EXPECT_EQ(show(id).at("state"), "pending");
}

TEST_F(RequestCommandsTest, AnotherClientsReviewerNeitherSeesNorDecides) {
  const auto id = ask();
  ASSERT_EQ(as_gina({"request", "list", "--all", "--json"}), kExitOk);
  EXPECT_TRUE(Json::parse(out_.str()).empty());
  EXPECT_EQ(as_gina({"request", "show", std::to_string(id)}), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("no request with id " + std::to_string(id) + " that you may see"));
  EXPECT_EQ(as_gina({"request", "approve", std::to_string(id)}), kExitRefused);
  EXPECT_EQ(as_gina({"request", "deny", std::to_string(id), "--reason", "x"}), kExitRefused);
  EXPECT_EQ(show(id).at("state"), "pending");
  ASSERT_EQ(as_carol({"request", "list", "--pending", "--json"}), kExitOk);
  ASSERT_EQ(Json::parse(out_.str()).size(), 1u);
}

TEST_F(RequestCommandsTest, OneDenyEndsItAndGivesNothing) {
  const auto id = ask();
  ASSERT_EQ(run({"request", "approve", std::to_string(id)}), kExitOk);
  ASSERT_EQ(as_carol({"request", "deny", std::to_string(id), "--reason", "change freeze"}), kExitOk) << err_.str();
  const auto j = show(id);
  EXPECT_EQ(j.at("state"), "denied");
  EXPECT_EQ(j.at("decided_by"), "carol");
  EXPECT_EQ(j.at("decision_reason"), "change freeze");
  EXPECT_EQ(as_carol({"request", "approve", std::to_string(id)}), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("is already denied"));
  EXPECT_TRUE(store_->list_grants().empty());
  EXPECT_EQ(events_of("request.deny").size(), 1u);
}

TEST_F(RequestCommandsTest, DenyNeedsAReason) {
  const auto id = ask();
  EXPECT_EQ(run({"request", "deny", std::to_string(id)}), kExitUsage);
  EXPECT_EQ(show(id).at("state"), "pending");
}

TEST_F(RequestCommandsTest, ARequestNobodyDecidesLapsesAfterThePendingTtl) {
  ASSERT_EQ(run({"settings", "set", "pending-ttl", "2h"}), kExitOk) << err_.str();
  const auto id = ask();
  clock_.advance(hours{2} - std::chrono::seconds{1});
  EXPECT_EQ(show(id).at("state"), "pending");
  clock_.advance(std::chrono::seconds{1});
  ASSERT_EQ(as_carol({"request", "approve", std::to_string(id)}), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("lapsed at 2026-11-23 12:00:00 UTC"));
  EXPECT_EQ(show(id).at("state"), "lapsed");
  const auto lapses = events_of("request.lapse");
  ASSERT_EQ(lapses.size(), 1u);  // recorded once, by whichever command noticed first
  EXPECT_EQ(lapses[0].event.actor, "bastion");
  EXPECT_EQ(lapses[0].event.details.at("lapsed_at"), "2026-11-23T12:00:00Z");
  EXPECT_TRUE(store_->list_grants().empty());
}

TEST_F(RequestCommandsTest, TheRequesterCancelsAndOthersCannot) {
  const auto id = ask();
  add_account("bob", "operator", "");
  EXPECT_EQ(run({"request", "cancel", std::to_string(id)}, "bob", authz::Role::Operator), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("no request with id"));  // bob cannot even see it
  EXPECT_EQ(as_carol({"request", "cancel", std::to_string(id)}), kExitRefused);
  ASSERT_EQ(as_alice({"request", "cancel", std::to_string(id)}), kExitOk) << err_.str();
  EXPECT_EQ(show(id).at("state"), "cancelled");
  EXPECT_EQ(run({"request", "approve", std::to_string(id)}), kExitRefused);
  EXPECT_EQ(events_of("request.cancel").size(), 1u);
}

TEST_F(RequestCommandsTest, RequestsAreRefusedAtOnceWithTheirReason) {
  EXPECT_EQ(as_alice({"request", "add", "pub1", "--login", "root", "--ops", "shell", "--for", "1h", "--reason", "r"}),
            kExitRefused);
  EXPECT_EQ(err_.str(), "bastionctl: server pub1 is shared; access to shared servers is never granted\n");
  EXPECT_EQ(as_alice({"request", "add", "web1", "--login", "root", "--ops", "reboot", "--for", "1h", "--reason", "r"}),
            kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("operation 'reboot' is not in the catalogue of web1"));
  EXPECT_EQ(as_alice({"request", "add", "web1", "--login", "root", "--ops", "shell", "--for", "1h"}), kExitUsage);
  EXPECT_EQ(as_alice({"request", "add", "web1", "--login", "root", "--ops", "shell", "--for", "1h", "--reason", " "}),
            kExitRefused);
  EXPECT_EQ(as_carol({"request", "add", "web1", "--login", "root", "--ops", "shell", "--for", "1h", "--reason", "r"}),
            kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("only operators request access"));
  EXPECT_EQ(run({"request", "add", "web1", "--login", "root", "--ops", "shell", "--for", "1h", "--reason", "r"}),
            kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("--operator O"));
  EXPECT_TRUE(events_of("request.add").empty());
}

TEST_F(RequestCommandsTest, AServerPolicyOverridesItsClientsAndRequestsKeepTheirs) {
  ASSERT_EQ(run({"server", "set-approvals", "web1", "officer"}), kExitOk) << err_.str();
  const auto id = ask();
  EXPECT_EQ(show(id).at("needs"), "officer");
  ASSERT_EQ(run({"server", "set-approvals", "web1", "default"}), kExitOk);
  EXPECT_EQ(show(id).at("needs"), "officer");
  EXPECT_EQ(show(ask()).at("needs"), "client,officer");
  EXPECT_EQ(as_carol({"request", "approve", std::to_string(id)}), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("needs officer approval, not a client reviewer's"));
  ASSERT_EQ(run({"request", "approve", std::to_string(id)}), kExitOk);
  EXPECT_EQ(store_->list_grants().size(), 1u);
  EXPECT_EQ(run({"server", "set-approvals", "web1", "everyone"}), kExitUsage);
  EXPECT_EQ(as_carol({"server", "set-approvals", "web1", "client"}), kExitRefused);
  EXPECT_EQ(events_of("admin.server.set-approvals").size(), 2u);
}

TEST_F(RequestCommandsTest, ListShowsOpenOnesByDefaultAndTellsApproversWhatWaits) {
  const auto open = ask();
  const auto cancelled = ask();
  ASSERT_EQ(as_alice({"request", "cancel", std::to_string(cancelled)}), kExitOk);
  ASSERT_EQ(as_carol({"request", "list"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("1 request(s) wait for your decision: request list --pending"));
  ASSERT_EQ(as_carol({"request", "list", "--json"}), kExitOk);
  ASSERT_EQ(Json::parse(out_.str()).size(), 1u);
  EXPECT_EQ(Json::parse(out_.str())[0].at("id"), open);
  ASSERT_EQ(as_carol({"request", "list", "--all", "--json"}), kExitOk);
  EXPECT_EQ(Json::parse(out_.str()).size(), 2u);
  ASSERT_EQ(as_carol({"request", "approve", std::to_string(open)}), kExitOk);
  ASSERT_EQ(as_carol({"request", "list", "--pending", "--json"}), kExitOk);
  EXPECT_TRUE(Json::parse(out_.str()).empty());
  ASSERT_EQ(run({"request", "list", "--pending", "--json"}), kExitOk);
  EXPECT_EQ(Json::parse(out_.str()).size(), 1u);
  ASSERT_EQ(as_alice({"request", "list", "--pending", "--json"}), kExitOk);
  EXPECT_EQ(Json::parse(out_.str()).size(), 1u);  // the operator's own pending ones
}

TEST_F(RequestCommandsTest, TheRequesterIsToldOfDecisionsTheOpenListNoLongerShows) {
  ASSERT_EQ(run({"settings", "set", "pending-ttl", "2h"}), kExitOk) << err_.str();
  const auto denied = ask();
  const auto withdrawn = ask();
  const auto lapsing = ask();
  const auto open = ask();
  ASSERT_EQ(as_carol({"request", "deny", std::to_string(denied), "--reason", "change freeze"}), kExitOk) << err_.str();
  ASSERT_EQ(as_alice({"request", "cancel", std::to_string(withdrawn)}), kExitOk) << err_.str();
  clock_.advance(hours{2});  // `lapsing` and `open` lapse; `open` is asked for again
  const auto again = ask();

  ASSERT_EQ(as_alice({"request", "list"}), kExitOk) << err_.str();
  const std::string told = out_.str();
  EXPECT_THAT(told, HasSubstr("request " + std::to_string(denied) + " was denied by carol at 2026-11-23 10:00:00 UTC: "
                              "change freeze"));
  EXPECT_THAT(told, HasSubstr("request " + std::to_string(lapsing) +
                              " lapsed at 2026-11-23 12:00:00 UTC: nobody decided within the pending TTL"));
  EXPECT_THAT(told, HasSubstr("request " + std::to_string(open) + " lapsed"));
  // Their own cancel is no news to them; the open request is in the table, not a line of its own.
  EXPECT_THAT(told, ::testing::Not(HasSubstr("request " + std::to_string(withdrawn) + " was")));
  EXPECT_THAT(told, ::testing::Not(HasSubstr("request " + std::to_string(again) + " ")));
  // Only the requester is told: the reviewer sees the open request and what waits for them.
  ASSERT_EQ(as_carol({"request", "list"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), ::testing::Not(HasSubstr("was denied")));
  // --json stays a plain list, and --all shows the decided ones in the table instead.
  ASSERT_EQ(as_alice({"request", "list", "--json"}), kExitOk) << err_.str();
  EXPECT_EQ(Json::parse(out_.str()).size(), 1u);
  ASSERT_EQ(as_alice({"request", "list", "--all"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), ::testing::Not(HasSubstr(" was denied by ")));

  // A day after a decision it is no longer news.
  clock_.advance(hours{22} + std::chrono::seconds{1});
  ASSERT_EQ(as_alice({"request", "list"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), ::testing::Not(HasSubstr("was denied")));
  EXPECT_THAT(out_.str(), HasSubstr("request " + std::to_string(lapsing) + " lapsed"));
  clock_.advance(hours{2});
  ASSERT_EQ(as_alice({"request", "list"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), ::testing::Not(HasSubstr("request " + std::to_string(lapsing) + " lapsed")));
  EXPECT_THAT(out_.str(), ::testing::Not(HasSubstr("request " + std::to_string(open) + " lapsed")));
  EXPECT_THAT(out_.str(), HasSubstr("request " + std::to_string(again) + " lapsed at 2026-11-23 14:00:00 UTC"));
}

TEST_F(RequestCommandsTest, OperatorsRunOnlyRequestCommands) {
  EXPECT_EQ(as_alice({"grant", "list"}), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("(yours: request add, request list, request show, request cancel"));
  EXPECT_EQ(as_alice({"server", "set-approvals", "web1", "client"}), kExitRefused);
}

TEST_F(RequestCommandsTest, RevokingTheGrantRevokesTheRequest) {
  const auto id = ask();
  ASSERT_EQ(as_carol({"request", "approve", std::to_string(id)}), kExitOk);
  ASSERT_EQ(run({"request", "approve", std::to_string(id)}), kExitOk);
  const auto grant_id = show(id).at("grant_id").get<std::int64_t>();
  ASSERT_EQ(run({"grant", "revoke", std::to_string(grant_id)}, "oscar"), kExitOk) << err_.str();
  EXPECT_EQ(show(id).at("state"), "revoked");
  // A transition like the others: in the chain as request.*, so the webhook tells the requester.
  const auto revoked = events_of("request.revoke");
  ASSERT_EQ(revoked.size(), 1u);
  EXPECT_EQ(revoked[0].event.actor, "oscar");
  EXPECT_EQ(revoked[0].event.details.at("before").at("state"), "active");
  EXPECT_EQ(revoked[0].event.details.at("after").at("state"), "revoked");
  EXPECT_EQ(revoked[0].event.details.at("grant"), grant_id);
}

TEST_F(RequestCommandsTest, NothingChangesWhenTheEventCannotBeWritten) {
  const auto id = ask();
  FailingEventLog failing;
  EXPECT_EQ(run_with(failing, {"request", "approve", std::to_string(id)}), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("nothing was changed"));
  EXPECT_TRUE(show(id).at("approvals").empty());
}

}  // namespace
}  // namespace bastion::gateway::admin::testing
