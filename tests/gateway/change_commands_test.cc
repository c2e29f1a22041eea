// Every change is an audit event in the same transaction: no event, no change.
#include "tests/gateway/admin_fixture.h"

namespace bastion::gateway::admin::testing {
namespace {

using ::testing::HasSubstr;
using ChangeCommandsTest = AdminFixture;

constexpr std::string_view kUnrecorded =
    "bastionctl: the audit event could not be written, so nothing was changed: disk full\n";

TEST_F(ChangeCommandsTest, GrantAddAndRevokeRecordBeforeAndAfter) {
  setup_web1();
  const auto id = grant("web1", "shell,status");
  auto events = events_of("admin.grant.add");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event.server, "web1");
  EXPECT_TRUE(events[0].event.details.at("before").is_null());
  EXPECT_EQ(events[0].event.details.at("after").at("ops"), Json::array({"shell", "status"}));
  EXPECT_EQ(events[0].event.details.at("after").at("granted_by"), "olivia");
  ASSERT_EQ(run({"grant", "revoke", std::to_string(id)}), kExitOk);
  events = events_of("admin.grant.revoke");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event.details.at("before").at("revoked"), false);
  EXPECT_EQ(events[0].event.details.at("after").at("revoked"), true);
  EXPECT_EQ(events[0].event.details.at("after").at("revoked_at"), "2026-11-23T10:00:00Z");
}

TEST_F(ChangeCommandsTest, EachChangeWritesExactlyOneEvent) {
  setup_web1();
  const std::vector<std::vector<std::string>> changes{
      {"operator", "disable", "alice"},
      {"operator", "enable", "alice"},
      {"operator", "key", "add", "alice", "--key", second_key_file_},
      {"operator", "key", "remove", "alice", std::string(kSecondFingerprint)},
      {"operator", "totp", "reset", "alice"},
      {"catalogue", "add", "web1", "logs", "--type", "sftp"},
      {"catalogue", "remove", "web1", "logs"},
      {"grant", "add", "--operator", "alice", "--server", "web1", "--login", "root", "--ops", "shell", "--for", "1h",
       "--reason", "r"},
      {"grant", "revoke", "1"},
      {"server", "set-host-key", "web1", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICYcQQkQgLVUUu35IC9WYVaanhsED3bt3Jy3hhm6/p3v"},
      {"server", "set-kind", "web1", "shared"},
      {"server", "remove", "web1"},
      {"settings", "set", "max-grant-duration", "7d"},
  };
  for (const auto& cmd : changes) {
    const std::size_t before = event_count();
    ASSERT_EQ(run(cmd), kExitOk) << cmd[0] << " " << cmd[1] << ": " << err_.str();
    const auto all = audit::list_events(*db_, {});
    ASSERT_EQ(all.size(), before + 1) << cmd[0] << " " << cmd[1];
    EXPECT_THAT(all.back().event.kind, ::testing::StartsWith("admin." + cmd[0]));
    EXPECT_EQ(all.back().event.actor, "olivia");
    EXPECT_TRUE(all.back().event.details.contains("before"));
    EXPECT_TRUE(all.back().event.details.contains("after"));
  }
}

TEST_F(ChangeCommandsTest, AGrantWhoseEventCannotBeWrittenIsNotGranted) {
  setup_web1();
  FailingEventLog failing;
  EXPECT_EQ(run_with(failing, {"grant", "add", "--operator", "alice", "--server", "web1", "--login", "root", "--ops",
                               "shell", "--for", "1h", "--reason", "r"}),
            kExitRefused);
  EXPECT_EQ(err_.str(), kUnrecorded);
  EXPECT_TRUE(out_.str().empty());  // nothing claims a change that did not happen
  EXPECT_TRUE(store_->list_grants().empty());
}

TEST_F(ChangeCommandsTest, AMultiStepChangeIsUndoneWhole) {
  FailingEventLog failing;
  EXPECT_EQ(run_with(failing, {"operator", "add", "alice", "--key", key_file_}), kExitRefused);
  EXPECT_EQ(err_.str(), kUnrecorded);
  EXPECT_FALSE(store_->find_operator("alice"));  // neither the account nor its key
  EXPECT_EQ(run({"operator", "add", "bob", "--key", key_file_}), kExitOk) << err_.str();  // the key is free
}

TEST_F(ChangeCommandsTest, SetKindWithoutItsEventRevokesNothing) {
  setup_web1();
  const auto id = grant("web1");
  FailingEventLog failing;
  EXPECT_EQ(run_with(failing, {"server", "set-kind", "web1", "shared"}), kExitRefused);
  EXPECT_EQ(store_->find_server("web1")->kind, authz::ServerKind::Dedicated);
  EXPECT_FALSE(store_->find_grant(id)->revoked_at.has_value());
}

TEST_F(ChangeCommandsTest, HelpOfAChangingCommandChangesNothing) {
  const std::size_t before = event_count();
  for (std::vector<std::string> cmd : std::vector<std::vector<std::string>>{
           {"operator", "key", "remove"}, {"operator", "totp", "reset"}, {"server", "set-kind"},
           {"server", "remove"}, {"catalogue", "remove"}, {"sessions", "kill"}, {"settings", "set"}}) {
    cmd.push_back("--help");
    EXPECT_EQ(run(cmd), kExitOk) << err_.str();
    EXPECT_THAT(out_.str(), ::testing::StartsWith("usage: bastionctl " + cmd[0]));
    EXPECT_THAT(out_.str(), HasSubstr("--json"));
  }
  EXPECT_EQ(event_count(), before);
}

}  // namespace
}  // namespace bastion::gateway::admin::testing
