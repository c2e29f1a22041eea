// Break-glass (issue 17, point 6) and the retention of access requests, through the admin command
// set against a real SQLite database with a FixedClock: on a server whose policy needs its
// client's approval an officer's direct grant is refused unless it is `--emergency` with a reason;
// such a grant is flagged in grant show/list (the client reviewer's view too), is a grant.emergency
// event, and is in the client's export; decided requests leave with the client's events at `purge`,
// and are in the export until then.
#include "tests/gateway/admin_fixture.h"

#include "tests/audit/test_util.h"

namespace bastion::gateway::admin::testing {
namespace {

using ::testing::HasSubstr;

class EmergencyGrantTest : public AdminFixture {
 protected:
  void SetUp() override {
    AdminFixture::SetUp();
    setup_web1();
    ASSERT_EQ(run({"client", "set-approvals", "acme", "client,officer"}), kExitOk) << err_.str();
  }

  int grant_web1(std::vector<std::string> more) {
    std::vector<std::string> cmd{"grant", "add", "--operator", "alice", "--server", "web1", "--login", "root",
                                 "--ops", "shell", "--for", "1h", "--json"};
    cmd.insert(cmd.end(), more.begin(), more.end());
    return run(cmd);
  }

  int as_carol(std::vector<std::string> cmd) { return run(std::move(cmd), "carol", authz::Role::Client, "acme"); }

  // archive_member: one JSON member of `export --client acme`.
  Json archive_member(const std::string& member) {
    const std::string out = dir_ + "/acme-" + std::to_string(++exports_) + ".tar.gz";
    EXPECT_EQ(run({"export", "--client", "acme", "--out", out}), kExitOk) << err_.str();
    const auto text = audit::testing::run_command("tar xzOf " + out + " " + member);
    if (!text) return nullptr;
    return Json::parse(*text);
  }

  int exports_ = 0;
};

TEST_F(EmergencyGrantTest, ADirectGrantOnAServerNeedingItsClientIsRefusedNamingBothWays) {
  EXPECT_EQ(grant_web1({"--reason", "ticket 42"}), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("needs its client's approval (policy client,officer)"));
  EXPECT_THAT(err_.str(), HasSubstr("request add web1"));
  EXPECT_THAT(err_.str(), HasSubstr("--emergency --reason TEXT"));
  EXPECT_TRUE(store_->list_grants().empty());
  EXPECT_TRUE(events_of("admin.grant.add").empty());
  // A server whose policy is the default (officer) keeps its direct grants, unflagged.
  ASSERT_EQ(run({"grant", "add", "--operator", "alice", "--server", "db1", "--login", "root", "--ops", "shell", "--for",
                 "1h", "--reason", "ticket 43", "--json"}),
            kExitOk)
      << err_.str();
  EXPECT_EQ(Json::parse(out_.str()).at("emergency"), false);
  EXPECT_TRUE(events_of("grant.emergency").empty());
}

TEST_F(EmergencyGrantTest, BreakGlassIsFlaggedShownAndAnEventNamingTheOfficerAndReason) {
  ASSERT_EQ(grant_web1({"--emergency", "--reason", "database down, client unreachable"}), kExitOk) << err_.str();
  const Json added = Json::parse(out_.str());
  EXPECT_EQ(added.at("emergency"), true);
  const auto id = std::to_string(added.at("id").get<std::int64_t>());

  ASSERT_EQ(run({"grant", "show", id}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("EMERGENCY:  given without a request (break-glass)"));
  ASSERT_EQ(run({"grant", "show", id, "--json"}), kExitOk) << err_.str();
  EXPECT_EQ(Json::parse(out_.str()).at("emergency"), true);

  // The client's reviewer sees the flag in their own view of grants.
  ASSERT_EQ(as_carol({"grant", "list", "--json"}), kExitOk) << err_.str();
  const Json seen = Json::parse(out_.str());
  ASSERT_EQ(seen.size(), 1u) << seen.dump();
  EXPECT_EQ(seen[0].at("emergency"), true);
  ASSERT_EQ(as_carol({"grant", "list"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("EMERGENCY"));
  ASSERT_EQ(as_carol({"audit", "list", "--kind", "grant.emergency", "--json"}), kExitOk) << err_.str();
  EXPECT_EQ(Json::parse(out_.str()).size(), 1u) << out_.str();

  const auto events = events_of("grant.emergency");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event.actor, "olivia");
  EXPECT_EQ(events[0].event.server, "web1");
  EXPECT_EQ(events[0].event.details.at("officer"), "olivia");
  EXPECT_EQ(events[0].event.details.at("reason"), "database down, client unreachable");
  EXPECT_EQ(events[0].event.details.at("bypassed_policy"), "client,officer");
  EXPECT_EQ(events[0].event.details.at("grant"), added.at("id"));

  // And in the client's export.
  const Json grants = archive_member("grants.json");
  ASSERT_EQ(grants.size(), 1u) << grants.dump();
  EXPECT_EQ(grants[0].at("emergency"), true);
  EXPECT_EQ(grants[0].at("reason"), "database down, client unreachable");
}

TEST_F(EmergencyGrantTest, BreakGlassNeedsAReason) {
  EXPECT_EQ(grant_web1({"--emergency", "--reason", " "}), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("an emergency grant needs a reason"));
  EXPECT_EQ(grant_web1({"--emergency"}), kExitUsage);  // --reason is required anyway
  EXPECT_TRUE(store_->list_grants().empty());
}

TEST_F(EmergencyGrantTest, DecidedRequestsAreExportedThenPurgedWithTheClientsEvents) {
  ASSERT_EQ(run({"request", "add", "web1", "--operator", "alice", "--login", "root", "--ops", "shell", "--for", "1h",
                 "--reason", "ticket 4411", "--json"}),
            kExitOk)
      << err_.str();
  const auto id = Json::parse(out_.str()).at("id").get<std::int64_t>();
  ASSERT_EQ(run({"request", "deny", std::to_string(id), "--reason", "change freeze"}), kExitOk) << err_.str();
  ASSERT_EQ(run({"request", "add", "web1", "--operator", "alice", "--login", "root", "--ops", "shell", "--for", "1h",
                 "--reason", "ticket 4412"}),
            kExitOk)
      << err_.str();
  ASSERT_EQ(run({"client", "set", "acme", "--event-retention-days", "30"}), kExitOk) << err_.str();

  const Json exported = archive_member("requests.json");
  ASSERT_EQ(exported.size(), 2u) << exported.dump();
  EXPECT_EQ(exported[0].at("status"), "denied");
  EXPECT_EQ(exported[0].at("decision_reason"), "change freeze");

  // Within the retention nothing goes.
  ASSERT_EQ(run({"purge", "--recordings-dir", dir_, "--json"}), kExitOk) << err_.str();
  EXPECT_EQ(Json::parse(out_.str()).at("requests"), Json::array());

  // 31 days on the denied one goes, with the events that told its story; the pending one (lapsed
  // by now, but not yet settled by any command) stays.
  clock_.advance(std::chrono::days(31));
  ASSERT_EQ(run({"purge", "--recordings-dir", dir_, "--json"}), kExitOk) << err_.str();
  const Json purged = Json::parse(out_.str());
  EXPECT_EQ(purged.at("requests"), Json::array({id})) << purged.dump();
  EXPECT_EQ(purged.at("clients")[0].at("requests"), 1) << purged.dump();
  ASSERT_EQ(run({"request", "show", std::to_string(id)}), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("no request with id " + std::to_string(id)));
  // Once settled (it lapsed at its deadline), the other goes a retention later.
  ASSERT_EQ(run({"request", "list", "--all"}), kExitOk) << err_.str();
  clock_.advance(std::chrono::days(31));
  ASSERT_EQ(run({"purge", "--recordings-dir", dir_}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr(", 1 access request(s)"));
  ASSERT_EQ(run({"request", "list", "--all", "--json"}), kExitOk) << err_.str();
  EXPECT_EQ(Json::parse(out_.str()), Json::array());
  ASSERT_EQ(run({"audit", "verify"}), kExitOk) << err_.str() << out_.str();
}

}  // namespace
}  // namespace bastion::gateway::admin::testing
