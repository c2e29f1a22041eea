// operator show | disable | enable | key add | key remove | totp reset, and their audit events.
#include "tests/gateway/admin_fixture.h"

namespace bastion::gateway::admin::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using OperatorCommandsTest = AdminFixture;

TEST_F(OperatorCommandsTest, AddRecordsTheAccountButNeverTheSecret) {
  ASSERT_EQ(run({"operator", "add", "alice", "--key", key_file_, "--json"}), kExitOk) << err_.str();
  const std::string secret = Json::parse(out_.str()).at("totp_secret");
  const auto events = events_of("admin.operator.add");
  ASSERT_EQ(events.size(), 1u);
  const auto& e = events[0].event;
  EXPECT_EQ(e.actor, "olivia");
  EXPECT_EQ(e.source, "203.0.113.7:51234");
  EXPECT_TRUE(e.details.at("before").is_null());
  EXPECT_EQ(e.details.at("after").at("name"), "alice");
  EXPECT_EQ(e.details.at("after").at("keys")[0].at("fingerprint"), kAliceFingerprint);
  EXPECT_THAT(e.details.dump(), Not(HasSubstr(secret)));
}

TEST_F(OperatorCommandsTest, DisableRecordsBeforeAndAfterAndRefusesTwice) {
  ASSERT_EQ(run({"operator", "add", "alice", "--key", key_file_}), kExitOk);
  ASSERT_EQ(run({"operator", "disable", "alice"}), kExitOk) << err_.str();
  const auto events = events_of("admin.operator.disable");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event.details.at("before").at("disabled"), false);
  EXPECT_EQ(events[0].event.details.at("after").at("disabled"), true);
  EXPECT_EQ(run({"operator", "disable", "alice"}), kExitRefused);
  EXPECT_EQ(err_.str(), "bastionctl: operator alice is already disabled\n");
  ASSERT_EQ(run({"operator", "enable", "alice"}), kExitOk);
  EXPECT_EQ(events_of("admin.operator.enable").size(), 1u);
  EXPECT_FALSE(store_->find_operator("alice")->disabled);
}

TEST_F(OperatorCommandsTest, KeyAddThenRemoveByFingerprint) {
  ASSERT_EQ(run({"operator", "add", "alice", "--key", key_file_}), kExitOk);
  ASSERT_EQ(run({"operator", "key", "add", "alice", "--key", second_key_file_}), kExitOk) << err_.str();
  ASSERT_EQ(run({"operator", "key", "remove", "alice", std::string(kAliceFingerprint), "--json"}), kExitOk)
      << err_.str();
  const Json j = Json::parse(out_.str());
  EXPECT_EQ(j.at("removed").at("fingerprint"), kAliceFingerprint);
  ASSERT_EQ(j.at("keys").size(), 1u);
  EXPECT_EQ(j.at("keys")[0].at("fingerprint"), kSecondFingerprint);
  const auto keys = store_->keys_of(store_->find_operator("alice")->id);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].fingerprint, kSecondFingerprint);
  const auto events = events_of("admin.operator.key.remove");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event.details.at("before").at("keys").size(), 2u);
  EXPECT_EQ(events[0].event.details.at("after").at("keys").size(), 1u);
  EXPECT_EQ(events_of("admin.operator.key.add").size(), 1u);
}

TEST_F(OperatorCommandsTest, KeyRemoveRefusesAnUnknownFingerprintAndNamesTheKeys) {
  ASSERT_EQ(run({"operator", "add", "alice", "--key", key_file_}), kExitOk);
  EXPECT_EQ(run({"operator", "key", "remove", "alice", "SHA256:nope"}), kExitRefused);
  EXPECT_EQ(err_.str(), "bastionctl: operator 'alice' has no key SHA256:nope (its keys: " +
                            std::string(kAliceFingerprint) + ")\n");
  EXPECT_EQ(run({"operator", "key", "remove", "bob", "SHA256:nope"}), kExitRefused);
  EXPECT_EQ(err_.str(), "bastionctl: unknown operator 'bob'\n");
  EXPECT_TRUE(events_of("admin.operator.key.remove").empty());
}

TEST_F(OperatorCommandsTest, RemovingTheLastKeySaysTheAccountCannotLogIn) {
  ASSERT_EQ(run({"operator", "add", "alice", "--key", key_file_}), kExitOk);
  ASSERT_EQ(run({"operator", "key", "remove", "alice", std::string(kAliceFingerprint)}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("alice has no key left and cannot log in until one is added"));
}

TEST_F(OperatorCommandsTest, TotpResetGivesANewSecretAndForgetsTheLastStep) {
  ASSERT_EQ(run({"operator", "add", "alice", "--key", key_file_, "--json"}), kExitOk);
  const std::string old_secret = Json::parse(out_.str()).at("totp_secret");
  const auto id = store_->find_operator("alice")->id;
  ASSERT_TRUE(store_->consume_totp_step(id, 1000));
  ASSERT_EQ(run({"operator", "totp", "reset", "alice", "--json"}), kExitOk) << err_.str();
  const Json j = Json::parse(out_.str());
  const std::string secret = j.at("totp_secret");
  EXPECT_NE(secret, old_secret);
  EXPECT_EQ(j.at("otpauth_uri"), "otpauth://totp/Bastion:alice?secret=" + secret +
                                     "&issuer=Bastion&algorithm=SHA1&digits=6&period=30");
  EXPECT_EQ(store_->find_operator("alice")->totp_secret, secret);
  EXPECT_TRUE(store_->consume_totp_step(id, 10));  // the last used step was reset to -1
  const auto events = events_of("admin.operator.totp.reset");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_THAT(events[0].event.details.dump(), Not(HasSubstr(secret)));
  EXPECT_THAT(events[0].event.details.dump(), Not(HasSubstr(old_secret)));
}

TEST_F(OperatorCommandsTest, TotpResetPrintsSecretUriAndQrCode) {
  ASSERT_EQ(run({"operator", "add", "alice", "--key", key_file_}), kExitOk);
  ASSERT_EQ(run({"operator", "totp", "reset", "alice"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("TOTP secret: "));
  EXPECT_THAT(out_.str(), HasSubstr("otpauth://totp/Bastion:alice"));
  EXPECT_THAT(out_.str(), HasSubstr("\u2588"));
  EXPECT_EQ(run({"operator", "totp", "reset", "bob"}), kExitRefused);
  EXPECT_EQ(err_.str(), "bastionctl: unknown operator 'bob'\n");
}

TEST_F(OperatorCommandsTest, ShowListsKeysAndGrantsButNoSecret) {
  setup_web1();
  const auto id = grant("web1");
  ASSERT_EQ(run({"operator", "show", "alice", "--json"}), kExitOk) << err_.str();
  const Json j = Json::parse(out_.str());
  EXPECT_EQ(j.at("role"), "operator");
  EXPECT_EQ(j.at("keys").size(), 1u);
  ASSERT_EQ(j.at("grants").size(), 1u);
  EXPECT_EQ(j.at("grants")[0].at("id"), id);
  EXPECT_EQ(j.at("grants")[0].at("state"), "active");
  EXPECT_THAT(out_.str(), Not(HasSubstr(store_->find_operator("alice")->totp_secret)));
  ASSERT_EQ(run({"operator", "show", "alice"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("grant 1: shell as root on web1 until 2026-11-23 14:00:00 UTC (active)"));
  EXPECT_EQ(run({"operator", "show", "zed"}), kExitRefused);
}

}  // namespace
}  // namespace bastion::gateway::admin::testing
