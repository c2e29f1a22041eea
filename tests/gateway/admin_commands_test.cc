#include "gateway/admin/commands.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "authz/db.h"
#include "authz/sqlite_store.h"
#include "audit/checkpoint.h"
#include "gateway/admin/init.h"
#include "gateway/checkpoint_key.h"
#include "tests/gateway/admin_fixture.h"

namespace bastion::gateway::admin {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace testing;  // NOLINT(google-build-using-namespace): the fixture and its constants

using AdminCommandsTest = AdminFixture;

bool is_base32(const std::string& s) {
  return !s.empty() && s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") == std::string::npos;
}

// ------------------------------------------------------------------ operators

TEST_F(AdminCommandsTest, OperatorAddJsonIsExactlyNameSecretAndUri) {
  ASSERT_EQ(run({"operator", "add", "alice", "--key", key_file_, "--json"}), kExitOk) << err_.str();
  const Json j = Json::parse(out_.str());
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j.size(), 3u);
  EXPECT_EQ(j.at("name"), "alice");
  const std::string secret = j.at("totp_secret");
  EXPECT_TRUE(is_base32(secret)) << secret;
  EXPECT_EQ(secret.size(), 32u);  // 20 bytes
  EXPECT_THAT(j.at("otpauth_uri").get<std::string>(), StartsWith("otpauth://totp/Bastion:alice?secret=" + secret));
  EXPECT_EQ(store_->find_operator("alice")->totp_secret, secret);
  EXPECT_EQ(store_->keys_of(store_->find_operator("alice")->id).size(), 1u);
}

TEST_F(AdminCommandsTest, OperatorAddPrintsSecretUriAndQrCode) {
  ASSERT_EQ(run({"operator", "add", "alice", "--key", key_file_}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("TOTP secret: "));
  EXPECT_THAT(out_.str(), HasSubstr("otpauth://totp/Bastion:alice"));
  EXPECT_THAT(out_.str(), HasSubstr("\u2588"));  // the QR code's half blocks
  EXPECT_THAT(out_.str(), HasSubstr("SHA256:gjyU1mXFm9Jym5uYH55dupWsAYxr8Xsn00+xQEH5co4"));
}

TEST_F(AdminCommandsTest, OperatorAddWithABadKeyCreatesNoAccount) {
  std::ofstream(key_file_) << "ssh-ed25519 not-base64!!\n";
  EXPECT_EQ(run({"operator", "add", "alice", "--key", key_file_}), kExitRefused);
  EXPECT_THAT(err_.str(), StartsWith("bastionctl: " + key_file_ + ": the key data"));
  EXPECT_FALSE(store_->find_operator("alice"));
}

TEST_F(AdminCommandsTest, OperatorAddRefusesAKeyOfAnotherOperator) {
  ASSERT_EQ(run({"operator", "add", "alice", "--key", key_file_}), kExitOk);
  EXPECT_EQ(run({"operator", "add", "bob", "--key", key_file_}), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("is already registered to operator 'alice'"));
  EXPECT_FALSE(store_->find_operator("bob"));
}

TEST_F(AdminCommandsTest, OperatorListNeverShowsSecrets) {
  ASSERT_EQ(run({"operator", "add", "alice", "--key", key_file_, "--json"}), kExitOk);
  const std::string secret = Json::parse(out_.str()).at("totp_secret");
  ASSERT_EQ(run({"operator", "list", "--json"}), kExitOk);
  const Json j = Json::parse(out_.str());
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0].at("role"), "operator");
  EXPECT_EQ(j[0].at("keys").size(), 1u);
  EXPECT_THAT(out_.str(), ::testing::Not(HasSubstr(secret)));
  ASSERT_EQ(run({"operator", "list"}), kExitOk);
  EXPECT_THAT(out_.str(), StartsWith("NAME   ROLE      CLIENT  STATE    KEYS\nalice  operator          enabled  SHA256:"));
}

TEST_F(AdminCommandsTest, OperatorDisableThenEnable) {
  ASSERT_EQ(run({"operator", "add", "alice", "--key", key_file_}), kExitOk);
  ASSERT_EQ(run({"operator", "disable", "alice"}), kExitOk);
  EXPECT_TRUE(store_->find_operator("alice")->disabled);
  ASSERT_EQ(run({"operator", "enable", "alice", "--json"}), kExitOk);
  EXPECT_EQ(Json::parse(out_.str()).at("disabled"), false);
  EXPECT_EQ(run({"operator", "disable", "bob"}), kExitRefused);
  EXPECT_EQ(err_.str(), "bastionctl: unknown operator 'bob'\n");
}

// ------------------------------------------------------------------ servers and catalogue

TEST_F(AdminCommandsTest, ServerAddValidatesNameKindAndHostKey) {
  const auto add = [&](const std::string& name, const std::string& kind, const std::string& key) {
    return run({"server", "add", name, "--host", "h", "--client", "acme", "--kind", kind, "--host-key", key});
  };
  EXPECT_EQ(add("web1", "dedicated", "ssh-ed25519 AAAAgarbage"), kExitRefused);
  EXPECT_THAT(err_.str(), StartsWith("bastionctl: --host-key:"));
  EXPECT_EQ(add("-bad", "dedicated", std::string(kHostKey)), kExitUsage);  // looks like an option
  EXPECT_EQ(add("bad_name", "dedicated", std::string(kHostKey)), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("server name 'bad_name' is not valid"));
  EXPECT_EQ(add("web1", "cloud", std::string(kHostKey)), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("--kind must be dedicated or shared"));
  EXPECT_TRUE(store_->list_servers().empty());
  ASSERT_EQ(add("web1", "dedicated", std::string(kHostKey) + " a comment"), kExitOk) << err_.str();
  EXPECT_EQ(store_->find_server("web1")->host_key, kHostKey);  // pinned without the comment
}

TEST_F(AdminCommandsTest, CatalogueAddRequiresPatternForExec) {
  setup_web1();
  EXPECT_EQ(run({"catalogue", "add", "web1", "deploy", "--type", "exec"}), kExitRefused);
  EXPECT_EQ(err_.str(), "bastionctl: exec entries need --pattern (the allowed command line)\n");
  ASSERT_EQ(run({"catalogue", "list", "web1", "--json"}), kExitOk);
  const Json j = Json::parse(out_.str());
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[1].at("pattern"), "systemctl status *");
}

TEST_F(AdminCommandsTest, CatalogueAddLimitsATransferToADirectionAndPathAndListsThem) {
  setup_web1();
  ASSERT_EQ(run({"catalogue", "add", "web1", "www-up", "--type", "scp", "--direction", "upload", "--path",
                 "/srv/www/**"}),
            kExitOk)
      << err_.str();
  EXPECT_EQ(out_.str(), "catalogue of web1: added www-up (scp, upload only, under /srv/www/**)\n");
  ASSERT_EQ(run({"catalogue", "add", "web1", "files", "--type", "sftp"}), kExitOk) << err_.str();
  const auto added = events_of("admin.catalogue.add");
  ASSERT_GE(added.size(), 2u);
  const Json& www = added[added.size() - 2].event.details.at("after");
  EXPECT_EQ(www.at("name"), "www-up");
  EXPECT_EQ(www.at("direction"), "upload");
  EXPECT_EQ(www.at("path"), "/srv/www/**");

  ASSERT_EQ(run({"catalogue", "list", "web1", "--json"}), kExitOk);
  const Json j = Json::parse(out_.str());
  ASSERT_EQ(j.size(), 4u);  // files, shell, status, www-up
  EXPECT_EQ(j[0].at("name"), "files");
  EXPECT_EQ(j[0].at("direction"), "both");
  EXPECT_EQ(j[0].at("path"), "");
  EXPECT_EQ(j[3].at("direction"), "upload");
  EXPECT_EQ(j[3].at("path"), "/srv/www/**");
  ASSERT_EQ(run({"catalogue", "list", "web1"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("DIRECTION"));
  EXPECT_THAT(out_.str(), ::testing::MatchesRegex("(.|\n)*www-up +scp +upload +/srv/www/\\*\\*(.|\n)*"));
  EXPECT_THAT(out_.str(), ::testing::MatchesRegex("(.|\n)*files +sftp +both +any(.|\n)*"));
}

TEST_F(AdminCommandsTest, CatalogueAddRefusesTransferLimitsThatMeanNothingOrCouldEscape) {
  setup_web1();
  EXPECT_EQ(run({"catalogue", "add", "web1", "up", "--type", "scp", "--direction", "sideways"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("--direction must be one of upload, download, both"));
  EXPECT_EQ(run({"catalogue", "add", "web1", "up", "--type", "exec", "--pattern", "ls", "--direction", "upload"}),
            kExitRefused);
  EXPECT_EQ(err_.str(), "bastionctl: --direction and --path only apply to scp, rsync and sftp entries, not exec\n");
  EXPECT_EQ(run({"catalogue", "add", "web1", "up", "--type", "rsync", "--path", "srv/**"}), kExitRefused);
  EXPECT_EQ(err_.str(), "bastionctl: path pattern 'srv/**' is not absolute: start it with '/'\n");
  EXPECT_EQ(run({"catalogue", "add", "web1", "up", "--type", "sftp", "--path", "/srv/www/../../etc/**"}),
            kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("has a '..' segment"));
  EXPECT_EQ(run({"catalogue", "add", "web1", "up", "--type", "scp", "--pattern", "upload"}), kExitRefused);
  EXPECT_EQ(store_->catalogue_of(store_->find_server("web1")->id).size(), 2u);
}

// ------------------------------------------------------------------ grants

TEST_F(AdminCommandsTest, GrantAddForADuration) {
  setup_web1();
  ASSERT_EQ(run({"grant", "add", "--operator", "alice", "--server", "web1", "--login", "root", "--ops", "shell,status",
                 "--for", "4h", "--reason", "ticket 42", "--json"}),
            kExitOk)
      << err_.str();
  const Json j = Json::parse(out_.str());
  EXPECT_EQ(j.at("not_before"), "2026-11-23T10:00:00Z");
  EXPECT_EQ(j.at("not_after"), "2026-11-23T14:00:00Z");
  EXPECT_EQ(j.at("granted_by"), "olivia");
  const auto g = store_->find_grant(j.at("id").get<std::int64_t>());
  ASSERT_TRUE(g);
  EXPECT_EQ(g->not_after, kNow + std::chrono::hours(4));
}

TEST_F(AdminCommandsTest, GrantAddFromUntilInBothTimeFormats) {
  setup_web1();
  ASSERT_EQ(run({"grant", "add", "--operator", "alice", "--server", "web1", "--login", "root", "--ops", "shell",
                 "--from", "2026-11-23 12:30", "--until", "2026-11-24T08:00:00Z", "--reason", "maintenance"}),
            kExitOk)
      << err_.str();
  const auto g = store_->list_grants().at(0);
  EXPECT_EQ(to_unix(g.not_before), 1795437000);
  EXPECT_EQ(to_unix(g.not_after), 1795507200);
  EXPECT_THAT(out_.str(), HasSubstr("alice may use shell as root on web1"));
}

TEST_F(AdminCommandsTest, GrantListJsonShape) {
  setup_web1();
  ASSERT_EQ(run({"grant", "add", "--operator", "alice", "--server", "web1", "--login", "root", "--ops", "shell,status",
                 "--for", "30m", "--reason", "ticket 42"}),
            kExitOk);
  ASSERT_EQ(run({"grant", "revoke", "1"}), kExitOk) << err_.str();
  ASSERT_EQ(run({"grant", "list", "--json"}), kExitOk);
  const Json j = Json::parse(out_.str());
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 1u);
  const Json& g = j[0];
  EXPECT_EQ(g.at("id"), 1);
  EXPECT_EQ(g.at("operator"), "alice");
  EXPECT_EQ(g.at("server"), "web1");
  EXPECT_EQ(g.at("login"), "root");
  EXPECT_EQ(g.at("ops"), Json::array({"shell", "status"}));
  EXPECT_EQ(g.at("not_before"), "2026-11-23T10:00:00Z");
  EXPECT_EQ(g.at("not_after"), "2026-11-23T10:30:00Z");
  EXPECT_EQ(g.at("revoked"), true);
  EXPECT_EQ(g.at("reason"), "ticket 42");
  EXPECT_EQ(g.at("granted_by"), "olivia");
}

TEST_F(AdminCommandsTest, GrantShowHumanAndUnknown) {
  setup_web1();
  ASSERT_EQ(run({"grant", "add", "--operator", "alice", "--server", "web1", "--login", "root", "--ops", "shell",
                 "--for", "90s", "--reason", "r"}),
            kExitOk);
  ASSERT_EQ(run({"grant", "show", "1"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("until:      2026-11-23 10:01:30 UTC"));
  EXPECT_EQ(run({"grant", "show", "7"}), kExitRefused);
  EXPECT_EQ(err_.str(), "bastionctl: no grant with id 7\n");
  EXPECT_EQ(run({"grant", "show", "x7"}), kExitUsage);
}

TEST_F(AdminCommandsTest, GrantRefusalsExitOneWithOneClearLine) {
  setup_web1();
  EXPECT_EQ(run({"grant", "add", "--operator", "alice", "--server", "pub1", "--login", "root", "--ops", "shell",
                 "--for", "1h", "--reason", "r"}),
            kExitRefused);
  EXPECT_EQ(err_.str(), "bastionctl: server pub1 is registered as shared: shared servers can never be granted\n");
  EXPECT_EQ(run({"grant", "add", "--operator", "alice", "--server", "web1", "--login", "root", "--ops", "deploy",
                 "--for", "1h", "--reason", "r"}),
            kExitRefused);
  EXPECT_EQ(err_.str(), "bastionctl: operation 'deploy' is not in the catalogue of web1 (catalogue: shell, status)\n");
  EXPECT_EQ(run({"grant", "add", "--operator", "alice", "--server", "web1", "--login", "root", "--ops", "shell",
                 "--for", "1h", "--reason", "r"},
                "alice"),
            kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("you cannot grant access to yourself"));
  EXPECT_TRUE(out_.str().empty());
  EXPECT_TRUE(store_->list_grants().empty());
}

TEST_F(AdminCommandsTest, GrantUsageErrorsExitTwo) {
  setup_web1();
  const std::vector<std::string> base{"grant", "add", "--operator", "alice", "--server", "web1", "--login", "root",
                                      "--ops", "shell"};
  auto with = [&](std::vector<std::string> extra) {
    auto args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  };
  EXPECT_EQ(with({"--for", "1h"}), kExitUsage);  // no --reason
  EXPECT_THAT(err_.str(), HasSubstr("reason"));
  EXPECT_EQ(with({"--for", "1h", "--until", "2026-11-24T00:00:00Z", "--reason", "r"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("exactly one of --for DURATION and --until TIME"));
  EXPECT_EQ(with({"--reason", "r"}), kExitUsage);
  EXPECT_EQ(with({"--for", "4 hours", "--reason", "r"}), kExitUsage);
  EXPECT_EQ(with({"--until", "tomorrow", "--reason", "r"}), kExitUsage);
  EXPECT_EQ(with({"--until", "2026-02-30T00:00:00Z", "--reason", "r"}), kExitUsage);
  EXPECT_TRUE(store_->list_grants().empty());
}

// ------------------------------------------------------------------ dispatch

TEST_F(AdminCommandsTest, UnknownAndIncompleteCommandsAreUsageErrors) {
  EXPECT_EQ(run({"frobnicate"}), kExitUsage);
  EXPECT_THAT(err_.str(), StartsWith("bastionctl: unknown command 'frobnicate'"));
  EXPECT_EQ(run({"grant"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("'grant' needs one of: add, revoke, list, show"));
  EXPECT_EQ(run({"operator", "list", "--bogus"}), kExitUsage);
}

TEST_F(AdminCommandsTest, HelpOnEveryCommand) {
  for (std::vector<std::string> cmd : std::vector<std::vector<std::string>>{
           {"operator", "add"}, {"operator", "key", "add"}, {"server", "add"}, {"catalogue", "add"},
           {"grant", "add"}, {"grant", "list"}, {"egress-key"}}) {
    cmd.push_back("--help");
    EXPECT_EQ(run(cmd), kExitOk);
    EXPECT_THAT(out_.str(), StartsWith("usage: bastionctl " + cmd[0]));
    EXPECT_THAT(out_.str(), HasSubstr("--json"));
  }
}

// ------------------------------------------------------------------ keys and init

TEST_F(AdminCommandsTest, EgressKeyPrintsThePublicKeyOfTheEgressKey) {
  const auto keys = default_key_paths(dir_ + "/bastion.db");
  EXPECT_EQ(run({"egress-key"}), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("does not exist"));
  ASSERT_TRUE(ensure_key(keys.egress_key).ok());
  ASSERT_EQ(run({"egress-key", "--json"}), kExitOk) << err_.str();
  const Json j = Json::parse(out_.str());
  std::string pub;
  std::getline(std::ifstream(keys.egress_key + ".pub"), pub);
  EXPECT_THAT(pub, StartsWith(j.at("public_key").get<std::string>()));
  EXPECT_THAT(j.at("fingerprint").get<std::string>(), StartsWith("SHA256:"));
}

TEST_F(AdminCommandsTest, InitCreatesDatabaseAndKeysOnceOnly) {
  const std::string db = dir_ + "/fresh/bastion.db";
  std::filesystem::create_directory(dir_ + "/fresh");
  const auto keys = default_key_paths(db);
  ASSERT_EQ(run_init({}, db, keys, out_, err_), kExitOk) << err_.str();
  // Every private key exists, readable and writable by its owner only, with its public half beside it.
  for (const std::string& key : {keys.host_key, keys.egress_key, keys.egress_ca, keys.checkpoint_key}) {
    ASSERT_TRUE(std::filesystem::exists(key)) << key;
    EXPECT_EQ(std::filesystem::status(key).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write)
        << key;
    EXPECT_TRUE(std::filesystem::exists(key + ".pub")) << key;
  }
  // The master key has no public half; it is a secret of the bastion's own, 0600 too.
  EXPECT_EQ(keys.master_key, dir_ + "/fresh/data_master_key");
  EXPECT_EQ(std::filesystem::status(keys.master_key).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_TRUE(db::Database::open(db, false).ok());
  err_.str("");
  EXPECT_EQ(run_init({}, db, keys, out_, err_), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("already exists and is initialised"));
}

TEST_F(AdminCommandsTest, AuditCheckpointNeedsTheKeyWhichCheckpointKeyMakesAndSignsTheChainHead) {
  setup_web1();
  EXPECT_EQ(run({"audit", "checkpoint"}), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("does not exist; create it with `bastionctl --db DB audit checkpoint-key`"));

  ASSERT_EQ(run({"audit", "checkpoint-key", "--json"}), kExitOk) << err_.str();
  const Json made = Json::parse(out_.str());
  EXPECT_EQ(made.at("created"), true);
  ASSERT_EQ(events_of("admin.audit.checkpoint_key").size(), 1u);
  EXPECT_EQ(events_of("admin.audit.checkpoint_key")[0].event.details.at("fingerprint"), made.at("fingerprint"));
  ASSERT_EQ(run({"audit", "checkpoint-key", "--json"}), kExitOk) << err_.str();
  EXPECT_EQ(Json::parse(out_.str()).at("created"), false) << "a second call shows the same key";
  EXPECT_EQ(Json::parse(out_.str()).at("public_key"), made.at("public_key"));

  const std::int64_t head = audit::list_events(*db_, {}).back().id;
  ASSERT_EQ(run({"audit", "checkpoint", "--json"}), kExitOk) << err_.str();
  const Json c = Json::parse(out_.str());
  EXPECT_EQ(c.at("seq"), 1);
  EXPECT_EQ(c.at("event_id"), head);
  EXPECT_EQ(c.at("key"), made.at("fingerprint"));
  EXPECT_EQ(c.at("emitted"), false) << "bastionctl has no sinks; the daemon copies it";
  auto parsed = audit::parse_checkpoint_line(c.dump());
  ASSERT_TRUE(parsed.ok() && parsed->has_value());
  auto pub = parse_ed25519_public_line(made.at("public_key").get<std::string>());
  ASSERT_TRUE(pub.ok()) << pub.error().message;
  EXPECT_TRUE(audit::checkpoint_signature_valid(**parsed, pub->key));

  EXPECT_EQ(run({"audit", "checkpoint"}, "carol", authz::Role::Client, "acme"), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("is an officer command"));
}

}  // namespace
}  // namespace bastion::gateway::admin
