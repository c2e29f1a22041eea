// Roles, enforced once in run_command from the dispatch table's per-command access flag.
#include "tests/gateway/admin_fixture.h"

namespace bastion::gateway::admin::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using RoleCommandsTest = AdminFixture;

TEST_F(RoleCommandsTest, OperatorsRunNoAdminCommand) {
  setup_web1();
  const std::size_t events_before = event_count();
  for (const std::vector<std::string>& cmd : std::vector<std::vector<std::string>>{
           {"grant", "list"}, {"server", "list"}, {"operator", "disable", "alice"}, {"who-has-access", "web1"},
           {"grant", "add", "--operator", "alice", "--server", "web1", "--login", "root", "--ops", "shell", "--for",
            "1h", "--reason", "r"}}) {
    EXPECT_EQ(run(cmd, "alice", authz::Role::Operator), kExitRefused);
    EXPECT_THAT(err_.str(), StartsWith("bastionctl: '" + cmd[0]));
    EXPECT_THAT(err_.str(), HasSubstr("is an officer command; you are an operator (yours: request add, request list, "));
    EXPECT_TRUE(out_.str().empty());
  }
  EXPECT_FALSE(store_->find_operator("alice")->disabled);
  EXPECT_TRUE(store_->list_grants().empty());
  EXPECT_EQ(event_count(), events_before);
}

TEST_F(RoleCommandsTest, ClientReviewersSeeOnlyTheirOwnServers) {
  setup_web1();
  grant("web1");
  grant("db1");
  ASSERT_EQ(run({"server", "list", "--json"}, "carol", authz::Role::Client, "acme"), kExitOk) << err_.str();
  Json j = Json::parse(out_.str());
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0].at("name"), "pub1");
  EXPECT_EQ(j[1].at("name"), "web1");
  ASSERT_EQ(run({"grant", "list", "--json"}, "carol", authz::Role::Client, "acme"), kExitOk) << err_.str();
  j = Json::parse(out_.str());
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0].at("server"), "web1");
  ASSERT_EQ(run({"grant", "list", "--json"}, "gina", authz::Role::Client, "globex"), kExitOk);
  j = Json::parse(out_.str());
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0].at("server"), "db1");
  ASSERT_EQ(run({"grant", "list", "--json"}), kExitOk);  // officers see all
  EXPECT_EQ(Json::parse(out_.str()).size(), 2u);
}

TEST_F(RoleCommandsTest, ClientReviewersCannotChangeOrInspectPolicy) {
  setup_web1();
  for (const std::vector<std::string>& cmd : std::vector<std::vector<std::string>>{
           {"grant", "show", "1"}, {"server", "show", "web1"}, {"operator", "list"}, {"grant", "revoke", "1"},
           {"server", "set-kind", "web1", "shared"}}) {
    EXPECT_EQ(run(cmd, "carol", authz::Role::Client, "acme"), kExitRefused);
    EXPECT_THAT(err_.str(), HasSubstr("is an officer command; you are a client reviewer (yours: server list, "));
  }
  EXPECT_EQ(store_->find_server("web1")->kind, authz::ServerKind::Dedicated);
}

TEST_F(RoleCommandsTest, AClientAccountWithoutAClientSeesNothing) {
  setup_web1();
  EXPECT_EQ(run({"server", "list"}, "carol", authz::Role::Client, ""), kExitRefused);
  EXPECT_EQ(err_.str(), "bastionctl: client account carol names no client; ask an officer to check the account\n");
  EXPECT_TRUE(out_.str().empty());
}

TEST_F(RoleCommandsTest, OfficersCannotGrantToThemselves) {
  setup_web1();
  EXPECT_EQ(run({"grant", "add", "--operator", "alice", "--server", "web1", "--login", "root", "--ops", "shell",
                 "--for", "1h", "--reason", "r"},
                "alice"),
            kExitRefused);
  EXPECT_EQ(err_.str(),
            "bastionctl: you cannot grant access to yourself: another officer must grant it to 'alice'\n");
  EXPECT_TRUE(events_of("admin.grant.add").empty());
}

}  // namespace
}  // namespace bastion::gateway::admin::testing
