// server show | set-kind | set-host-key | remove, catalogue remove, who-has-access.
#include "tests/gateway/admin_fixture.h"

namespace bastion::gateway::admin::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ServerCommandsTest = AdminFixture;

constexpr std::string_view kOtherHostKey =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICYcQQkQgLVUUu35IC9WYVaanhsED3bt3Jy3hhm6/p3v";

TEST_F(ServerCommandsTest, SetKindSharedRevokesEveryGrantThatHasNotEnded) {
  setup_web1();
  const auto ended = grant("web1", "shell", "1h");
  clock_.advance(2h);  // `ended` is over; the next two are not
  const auto active = grant("web1", "shell", "4h");
  const auto on_db1 = grant("db1", "shell", "4h");
  ASSERT_EQ(run({"server", "set-kind", "web1", "shared", "--json"}), kExitOk) << err_.str();
  const Json j = Json::parse(out_.str());
  EXPECT_EQ(j.at("server").at("kind"), "shared");
  ASSERT_EQ(j.at("revoked_grants").size(), 1u);
  EXPECT_EQ(j.at("revoked_grants")[0].at("id"), active);
  EXPECT_TRUE(store_->find_grant(active)->revoked_at.has_value());
  EXPECT_FALSE(store_->find_grant(ended)->revoked_at.has_value());  // it ended on its own
  EXPECT_FALSE(store_->find_grant(on_db1)->revoked_at.has_value());
  const auto events = events_of("admin.server.set-kind");
  ASSERT_EQ(events.size(), 1u);
  const auto& d = events[0].event.details;
  EXPECT_EQ(events[0].event.server, "web1");
  EXPECT_EQ(d.at("before").at("kind"), "dedicated");
  EXPECT_EQ(d.at("after").at("kind"), "shared");
  EXPECT_EQ(d.at("revoked_grants")[0].at("revoked"), true);
  EXPECT_EQ(d.at("reason"), "server web1 made shared");
}

TEST_F(ServerCommandsTest, SetKindRefusesTheKindItHasAndUnknownServers) {
  setup_web1();
  EXPECT_EQ(run({"server", "set-kind", "web1", "dedicated"}), kExitRefused);
  EXPECT_EQ(err_.str(), "bastionctl: server web1 is already dedicated\n");
  EXPECT_EQ(run({"server", "set-kind", "nope", "shared"}), kExitRefused);
  EXPECT_EQ(err_.str(), "bastionctl: unknown server 'nope'\n");
  EXPECT_EQ(run({"server", "set-kind", "web1", "cloud"}), kExitUsage);
  EXPECT_TRUE(events_of("admin.server.set-kind").empty());
}

TEST_F(ServerCommandsTest, SetHostKeyPinsTheNewKeyWithoutItsComment) {
  setup_web1();
  ASSERT_EQ(run({"server", "set-host-key", "web1", std::string(kOtherHostKey) + " new-install"}), kExitOk)
      << err_.str();
  EXPECT_EQ(store_->find_server("web1")->host_key, kOtherHostKey);
  const auto events = events_of("admin.server.set-host-key");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event.details.at("before").at("host_key"), kHostKey);
  EXPECT_EQ(events[0].event.details.at("after").at("host_key"), kOtherHostKey);
  EXPECT_EQ(run({"server", "set-host-key", "web1", std::string(kOtherHostKey)}), kExitRefused);
  EXPECT_EQ(err_.str(), "bastionctl: server web1 already pins this host key\n");
  EXPECT_EQ(run({"server", "set-host-key", "web1", "ssh-ed25519 AAAAgarbage"}), kExitRefused);
  EXPECT_THAT(err_.str(), ::testing::StartsWith("bastionctl: KEY:"));
}

TEST_F(ServerCommandsTest, RemoveIsRefusedWhileGrantedUnlessForced) {
  setup_web1();
  const auto id = grant("web1");
  EXPECT_EQ(run({"server", "remove", "web1"}), kExitRefused);
  EXPECT_EQ(err_.str(), "bastionctl: server web1 still has grant " + std::to_string(id) +
                            " (alice as root until 2026-11-23 14:00:00 UTC); revoke them first, or remove with "
                            "--force, which revokes them\n");
  EXPECT_TRUE(store_->find_server("web1"));
  ASSERT_EQ(run({"server", "remove", "web1", "--force"}), kExitOk) << err_.str();
  EXPECT_FALSE(store_->find_server("web1"));
  EXPECT_TRUE(store_->find_grant(id)->revoked_at.has_value());
  const auto events = events_of("admin.server.remove");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event.details.at("before").at("name"), "web1");
  EXPECT_TRUE(events[0].event.details.at("after").is_null());
  EXPECT_EQ(events[0].event.details.at("revoked_grants")[0].at("id"), id);
  // History stays: the grant still lists under its server's name, and the name is not reused.
  ASSERT_EQ(run({"grant", "show", std::to_string(id), "--json"}), kExitOk);
  EXPECT_EQ(Json::parse(out_.str()).at("server"), "web1");
  EXPECT_EQ(run({"server", "add", "web1", "--host", "h", "--client", "acme", "--kind", "dedicated", "--host-key",
                 std::string(kHostKey)}),
            kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("belonged to a server removed at 2026-11-23 10:00:00 UTC; names are not reused"));
  EXPECT_EQ(run({"grant", "add", "--operator", "alice", "--server", "web1", "--login", "root", "--ops", "shell",
                 "--for", "1h", "--reason", "r"}),
            kExitRefused);
  EXPECT_EQ(err_.str(), "bastionctl: unknown server 'web1'\n");
}

TEST_F(ServerCommandsTest, RemoveWithOnlyEndedGrantsNeedsNoForce) {
  setup_web1();
  const auto id = grant("web1", "shell", "1h");
  clock_.advance(1h);
  ASSERT_EQ(run({"server", "remove", "web1"}), kExitOk) << err_.str();
  EXPECT_FALSE(store_->find_grant(id)->revoked_at.has_value());
}

TEST_F(ServerCommandsTest, ShowHasCatalogueAndWhoHasAccess) {
  setup_web1();
  const auto id = grant("web1", "shell,status");
  ASSERT_EQ(run({"server", "show", "web1", "--json"}), kExitOk) << err_.str();
  const Json j = Json::parse(out_.str());
  EXPECT_EQ(j.at("client"), "acme");
  EXPECT_EQ(j.at("catalogue").size(), 2u);
  ASSERT_EQ(j.at("access").size(), 1u);
  EXPECT_EQ(j.at("access")[0].at("id"), id);
  ASSERT_EQ(run({"server", "show", "web1"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("  op:       status (exec systemctl status *)\n"));
  EXPECT_THAT(out_.str(), HasSubstr("  access:   grant 1: alice as root (shell,status) until 2026-11-23 14:00:00 UTC"));
}

TEST_F(ServerCommandsTest, CatalogueRemoveIsRefusedWhileAGrantNamesTheEntry) {
  setup_web1();
  const auto id = grant("web1", "shell,status");
  EXPECT_EQ(run({"catalogue", "remove", "web1", "status"}), kExitRefused);
  EXPECT_EQ(err_.str(), "bastionctl: catalogue entry 'status' of web1 is still granted by grant " + std::to_string(id) +
                            " (alice as root until 2026-11-23 14:00:00 UTC); revoke those grants or wait until they "
                            "end\n");
  ASSERT_EQ(run({"grant", "revoke", std::to_string(id)}), kExitOk);
  ASSERT_EQ(run({"catalogue", "remove", "web1", "status"}), kExitOk) << err_.str();
  ASSERT_EQ(store_->catalogue_of(store_->find_server("web1")->id).size(), 1u);
  const auto events = events_of("admin.catalogue.remove");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event.details.at("before").at("pattern"), "systemctl status *");
  EXPECT_EQ(run({"catalogue", "remove", "web1", "status"}), kExitRefused);
  EXPECT_EQ(err_.str(), "bastionctl: web1 has no catalogue entry 'status'\n");
}

TEST_F(ServerCommandsTest, WhoHasAccessListsOnlyGrantsUsableNow) {
  setup_web1();
  const auto active = grant("web1", "shell", "4h");
  ASSERT_EQ(run({"grant", "add", "--operator", "alice", "--server", "web1", "--login", "deploy", "--ops", "status",
                 "--from", "2026-11-23 12:00", "--for", "1h", "--reason", "later"}),
            kExitOk);  // pending
  const auto revoked = grant("web1", "status", "4h");
  ASSERT_EQ(run({"grant", "revoke", std::to_string(revoked)}), kExitOk);
  ASSERT_EQ(run({"who-has-access", "web1", "--json"}), kExitOk) << err_.str();
  const Json j = Json::parse(out_.str());
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0].at("id"), active);
  EXPECT_EQ(j[0].at("operator"), "alice");
  EXPECT_EQ(j[0].at("login"), "root");
  EXPECT_EQ(j[0].at("ops"), Json::array({"shell"}));
  EXPECT_EQ(j[0].at("not_after"), "2026-11-23T14:00:00Z");
  ASSERT_EQ(run({"who-has-access", "db1"}), kExitOk);
  EXPECT_EQ(out_.str(), "nobody has access to db1 now\n");
}

}  // namespace
}  // namespace bastion::gateway::admin::testing
