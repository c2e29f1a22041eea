#include "authz/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <map>

#include "authz/schema.h"
#include "tests/db/test_database.h"

namespace bastion::authz {
namespace {

using namespace std::chrono_literals;

// A fixed ed25519 key; its fingerprint was computed once with `ssh-keygen -lf`.
constexpr std::string_view kEd25519 =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICYcQQkQgLVUUu35IC9WYVaanhsED3bt3Jy3hhm6/p3v fixed@test";
constexpr std::string_view kEd25519Fingerprint = "SHA256:gjyU1mXFm9Jym5uYH55dupWsAYxr8Xsn00+xQEH5co4";
constexpr std::string_view kEcdsa =
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBKnhKknFFf5CZSlsyVVExBSaqPJ/90sv50yWQ"
    "etLLFgrgw9w8HhNBTDOnSZRea5w73ZTKFuqt5VhF8Vw+nUebho= ec@test";
constexpr std::string_view kEcdsaFingerprint = "SHA256:eDKGY7mzQvTD3C73HyQScfW9657PrvMNcMQ2VcLH4vk";

const Seconds kNow = from_unix(1795428000);  // 2026-11-23 10:00:00 UTC

// The same cases run against SQLite and PostgreSQL (tests/db/test_database.h).
class SqliteStoreTest : public ::testing::TestWithParam<test_db::Engine> {
 protected:
  void SetUp() override {
    test_database_ = std::make_unique<test_db::TestDatabase>(GetParam());
    BASTION_REQUIRE_ENGINE(*test_database_);
    dir_ = test_database_->scratch_dir();
    path_ = test_database_->location();
    auto db = db::Database::open(path_, true);
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = *db;
    store_ = std::make_unique<SqliteStore>(db_, clock_);
    seed();
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    test_database_.reset();
  }

  // seed: alice (operator), olivia (officer), carol (client of acme); web1 (dedicated, catalogue
  // shell + status), pub1 (shared, catalogue shell).
  void seed() {
    ASSERT_TRUE(store_->add_operator({"alice", Role::Operator, "", "JBSWY3DPEHPK3PXP"}).ok());
    ASSERT_TRUE(store_->add_operator({"olivia", Role::Officer, "", "JBSWY3DPEHPK3PXP"}).ok());
    ASSERT_TRUE(store_->add_operator({"carol", Role::Client, "acme", "JBSWY3DPEHPK3PXP"}).ok());
    ASSERT_TRUE(store_->add_server(server("web1", ServerKind::Dedicated)).ok());
    ASSERT_TRUE(store_->add_server(server("pub1", ServerKind::Shared)).ok());
    ASSERT_TRUE(store_->add_catalogue_entry("web1", {0, 0, "shell", OpType::Shell, "", TransferLimit::Both, ""}).ok());
    ASSERT_TRUE(store_->add_catalogue_entry("web1", {0, 0, "status", OpType::Exec, "systemctl status *", TransferLimit::Both, ""}).ok());
    ASSERT_TRUE(store_->add_catalogue_entry("pub1", {0, 0, "shell", OpType::Shell, "", TransferLimit::Both, ""}).ok());
  }

  static Server server(std::string name, ServerKind kind) {
    Server s;
    s.name = std::move(name);
    s.host = "10.0.0.5";
    s.client = "acme";
    s.kind = kind;
    s.host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICYcQQkQgLVUUu35IC9WYVaanhsED3bt3Jy3hhm6/p3v";
    return s;
  }

  static NewGrant grant() {
    return {"alice", "web1", "root", {"shell", "status"}, kNow, kNow + 4h, "ticket 42", "olivia"};
  }

  // refusal returns the message of a refused add_grant (and fails the test if it was accepted).
  std::string refusal(const NewGrant& g) {
    auto r = store_->add_grant(g);
    EXPECT_FALSE(r.ok());
    return r.ok() ? "" : r.error().message;
  }

  std::unique_ptr<test_db::TestDatabase> test_database_;
  std::string dir_, path_;
  FixedClock clock_{kNow};
  db::DatabasePtr db_;
  std::unique_ptr<SqliteStore> store_;
};

INSTANTIATE_TEST_SUITE_P(Engines, SqliteStoreTest, test_db::kEngines, test_db::engine_name);

// ------------------------------------------------------------------ migrations

TEST_P(SqliteStoreTest, MigrationsAreIdempotentOnReopen) {
  store_.reset();
  db_.reset();
  for (int i = 0; i < 2; ++i) {
    auto db = db::Database::open(path_, false);
    ASSERT_TRUE(db.ok()) << db.error().message;
    EXPECT_EQ((*db)->schema_version(), db::latest_schema_version());
    SqliteStore again(*db, clock_);
    EXPECT_EQ(again.list_operators().size(), 3u);
    EXPECT_EQ(again.list_servers().size(), 2u);
  }
}

// Migration 7 moves the direction an older version kept in an scp/rsync entry's pattern to the
// new direction column, and leaves any other stray pattern (which then allows nothing).
// SQLite's own migrations, from a file an older version left: SQLite only.
class SqliteStoreSqliteOnlyTest : public SqliteStoreTest {};
INSTANTIATE_TEST_SUITE_P(Sqlite, SqliteStoreSqliteOnlyTest, ::testing::Values(test_db::Engine::Sqlite),
                         test_db::engine_name);

TEST_P(SqliteStoreSqliteOnlyTest, MigrationSevenMovesOldDirectionPatternsToTheDirectionColumn) {
  const std::string old_path = dir_ + "/v6.db";
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(old_path.c_str(), &raw), SQLITE_OK);
  auto exec = [&](std::string_view sql) {
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(raw, std::string(sql).c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  };
  for (const db::Migration& m : db::migrations()) {
    if (m.version > 6) break;
    for (std::string_view sql : m.statements) exec(sql);
  }
  exec("PRAGMA user_version = 6");
  exec("INSERT INTO clients(name) VALUES ('acme')");
  exec("INSERT INTO servers(id, name, host, port, client, kind, host_key, created_at) "
       "VALUES (1, 'web1', 'h', 22, 'acme', 'dedicated', 'k', 0)");
  exec("INSERT INTO catalogue(server_id, name, type, pattern) VALUES (1, 'up', 'scp', 'upload'), "
       "(1, 'down', 'rsync', 'download'), (1, 'all', 'scp', ''), (1, 'odd', 'scp', 'sideways'), "
       "(1, 'status', 'exec', 'systemctl status *')");
  sqlite3_close(raw);

  auto db = db::Database::open(old_path, false);
  ASSERT_TRUE(db.ok()) << db.error().message;
  EXPECT_EQ((*db)->schema_version(), db::latest_schema_version());
  SqliteStore migrated(*db, clock_);
  std::map<std::string, CatalogueEntry> by_name;
  for (const auto& e : migrated.catalogue_of(1)) by_name[e.name] = e;
  EXPECT_EQ(by_name.at("up").direction, TransferLimit::Upload);
  EXPECT_EQ(by_name.at("up").pattern, "");
  EXPECT_EQ(by_name.at("down").direction, TransferLimit::Download);
  EXPECT_EQ(by_name.at("all").direction, TransferLimit::Both);
  EXPECT_EQ(by_name.at("odd").pattern, "sideways");  // left as found: such an entry allows nothing
  EXPECT_EQ(by_name.at("status").pattern, "systemctl status *");
  EXPECT_EQ(by_name.at("status").direction, TransferLimit::Both);
  EXPECT_EQ(by_name.at("status").path, "");
}

// ------------------------------------------------------------------ operators

TEST_P(SqliteStoreTest, AddOperatorRoundTrips) {
  auto alice = store_->find_operator("alice");
  ASSERT_TRUE(alice);
  EXPECT_EQ(alice->role, Role::Operator);
  EXPECT_FALSE(alice->disabled);
  EXPECT_EQ(alice->totp_secret, "JBSWY3DPEHPK3PXP");
  EXPECT_TRUE(alice->client.empty());
  auto carol = store_->find_operator("carol");
  ASSERT_TRUE(carol);
  EXPECT_EQ(carol->role, Role::Client);
  EXPECT_EQ(carol->client, "acme");
  EXPECT_FALSE(store_->find_operator("nobody"));
}

TEST_P(SqliteStoreTest, AddOperatorRefusesDuplicatesAndInconsistentClients) {
  auto dup = store_->add_operator({"alice", Role::Operator, "", "X"});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().message, "operator 'alice' already exists");
  auto no_client = store_->add_operator({"dave", Role::Client, "", "X"});
  ASSERT_FALSE(no_client.ok());
  EXPECT_NE(no_client.error().message.find("needs --client"), std::string::npos);
  auto stray_client = store_->add_operator({"erin", Role::Operator, "acme", "X"});
  ASSERT_FALSE(stray_client.ok());
  EXPECT_NE(stray_client.error().message.find("--client only applies to role client"), std::string::npos);
  EXPECT_FALSE(store_->add_operator({"frank", Role::Operator, "", ""}).ok());
}

TEST_P(SqliteStoreTest, ClientAccountCreatesItsClientRow) {
  ASSERT_TRUE(store_->add_operator({"gina", Role::Client, "globex", "X"}).ok());
  auto s = db_->prepare("SELECT count(*) FROM clients WHERE name = 'globex'");
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.col_int(0), 1);
}

TEST_P(SqliteStoreTest, DisableAndEnable) {
  ASSERT_TRUE(store_->set_operator_disabled("alice", true).ok());
  EXPECT_TRUE(store_->find_operator("alice")->disabled);
  ASSERT_TRUE(store_->set_operator_disabled("alice", false).ok());
  EXPECT_FALSE(store_->find_operator("alice")->disabled);
  auto unknown = store_->set_operator_disabled("bob", true);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().message, "unknown operator 'bob'");
}

// ------------------------------------------------------------------ keys

TEST_P(SqliteStoreTest, FingerprintsMatchSshKeygen) {
  auto ed = store_->add_key("alice", kEd25519);
  ASSERT_TRUE(ed.ok()) << ed.error().message;
  EXPECT_EQ(ed->fingerprint, kEd25519Fingerprint);
  EXPECT_EQ(ed->type, "ssh-ed25519");
  EXPECT_EQ(ed->comment, "fixed@test");
  auto ec = store_->add_key("alice", kEcdsa);
  ASSERT_TRUE(ec.ok()) << ec.error().message;
  EXPECT_EQ(ec->fingerprint, kEcdsaFingerprint);
  const auto keys = store_->keys_of(store_->find_operator("alice")->id);
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].fingerprint, kEd25519Fingerprint);
  EXPECT_EQ(keys[1].type, "ecdsa-sha2-nistp256");
}

TEST_P(SqliteStoreTest, KeyLineWithoutCommentAndWithSurroundingBlanks) {
  auto k = parse_authorized_key("  ssh-ed25519   AAAAC3NzaC1lZDI1NTE5AAAAICYcQQkQgLVUUu35IC9WYVaanhsED3bt3Jy3hhm6/p3v\r\n");
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_EQ(k->comment, "");
  EXPECT_EQ(k->fingerprint, kEd25519Fingerprint);
}

TEST_P(SqliteStoreTest, KeyParsingRefusals) {
  const auto message = [](std::string_view line) {
    auto k = parse_authorized_key(line);
    EXPECT_FALSE(k.ok()) << line;
    return k.ok() ? std::string() : k.error().message;
  };
  EXPECT_NE(message("").find("empty"), std::string::npos);
  EXPECT_NE(message("ssh-dss AAAAB3NzaC1kc3M= x").find("unsupported key type 'ssh-dss'"), std::string::npos);
  EXPECT_NE(message("from=\"10.0.0.1\" ssh-ed25519 AAAA").find("options"), std::string::npos);
  EXPECT_NE(message("ssh-ed25519").find("no key data"), std::string::npos);
  EXPECT_NE(message("ssh-ed25519 AAAA!!!!").find("not valid base64"), std::string::npos);
  EXPECT_NE(message("ssh-ed25519 AAA").find("not valid base64"), std::string::npos);
  // The blob of an ed25519 key presented as ssh-rsa.
  EXPECT_NE(message("ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAICYcQQkQgLVUUu35IC9WYVaanhsED3bt3Jy3hhm6/p3v")
                .find("is a 'ssh-ed25519' key but the line says 'ssh-rsa'"),
            std::string::npos);
  EXPECT_NE(message("ssh-ed25519 AAAAAQ==").find("truncated"), std::string::npos);
  EXPECT_NE(message("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICYcQQkQgLVUUu35IC9WYVaanhsED3bt3Jy3hhm6/p3v a\nb")
                .find("control characters"),
            std::string::npos);
}

TEST_P(SqliteStoreTest, AddKeyRefusesUnknownOperatorAndDuplicates) {
  auto unknown = store_->add_key("bob", kEd25519);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().message, "unknown operator 'bob'");
  ASSERT_TRUE(store_->add_key("alice", kEd25519).ok());
  auto dup = store_->add_key("olivia", kEd25519);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().message, "key " + std::string(kEd25519Fingerprint) + " is already registered to operator 'alice'");
}

// ------------------------------------------------------------------ TOTP replay

TEST_P(SqliteStoreTest, ConsumeTotpStepAcceptsEachStepOnce) {
  const auto id = store_->find_operator("alice")->id;
  EXPECT_TRUE(store_->consume_totp_step(id, 1000));
  EXPECT_FALSE(store_->consume_totp_step(id, 1000)) << "the same code twice";
  EXPECT_FALSE(store_->consume_totp_step(id, 999)) << "an older code after a newer one";
  EXPECT_TRUE(store_->consume_totp_step(id, 1001));
  EXPECT_FALSE(store_->consume_totp_step(id + 1000, 5000)) << "unknown operator";
}

TEST_P(SqliteStoreTest, ConsumeTotpStepIsSharedAcrossConnections) {
  const auto id = store_->find_operator("alice")->id;
  auto other_db = db::Database::open(path_, false);
  ASSERT_TRUE(other_db.ok());
  SqliteStore other(*other_db, clock_);
  EXPECT_TRUE(other.consume_totp_step(id, 77));
  EXPECT_FALSE(store_->consume_totp_step(id, 77));
}

// ------------------------------------------------------------------ servers and catalogue

TEST_P(SqliteStoreTest, AddServerRoundTripsAndCreatesItsClient) {
  auto s = server("db1", ServerKind::Dedicated);
  s.client = "initech";
  s.port = 2222;
  ASSERT_TRUE(store_->add_server(s).ok());
  auto found = store_->find_server("db1");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->port, 2222);
  EXPECT_EQ(found->client, "initech");
  EXPECT_EQ(found->kind, ServerKind::Dedicated);
  auto q = db_->prepare("SELECT count(*) FROM clients WHERE name = 'initech'");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.col_int(0), 1);
  auto dup = store_->add_server(s);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().message, "server db1 already exists");
}

TEST_P(SqliteStoreTest, AddServerRefusesIncompleteRecords) {
  auto s = server("db2", ServerKind::Dedicated);
  s.port = 70000;
  EXPECT_FALSE(store_->add_server(s).ok());
  s.port = 22;
  s.host_key.clear();
  EXPECT_FALSE(store_->add_server(s).ok());
  EXPECT_FALSE(store_->find_server("db2"));
}

TEST_P(SqliteStoreTest, CatalogueRules) {
  auto exec_no_pattern = store_->add_catalogue_entry("web1", {0, 0, "run", OpType::Exec, "", TransferLimit::Both, ""});
  ASSERT_FALSE(exec_no_pattern.ok());
  EXPECT_NE(exec_no_pattern.error().message.find("exec entries need --pattern"), std::string::npos);
  EXPECT_FALSE(store_->add_catalogue_entry("web1", {0, 0, "fwd", OpType::Forward, "", TransferLimit::Both, ""}).ok());
  EXPECT_FALSE(store_->add_catalogue_entry("web1", {0, 0, "fwd", OpType::Forward, "db:99999", TransferLimit::Both, ""}).ok());
  EXPECT_TRUE(store_->add_catalogue_entry("web1", {0, 0, "fwd", OpType::Forward, "127.0.0.1:5432", TransferLimit::Both, ""}).ok());
  EXPECT_FALSE(store_->add_catalogue_entry("web1", {0, 0, "files", OpType::Sftp, "/tmp", TransferLimit::Both, ""}).ok());
  EXPECT_FALSE(store_->add_catalogue_entry("web1", {0, 0, "a,b", OpType::Sftp, "", TransferLimit::Both, ""}).ok());
  auto dup = store_->add_catalogue_entry("web1", {0, 0, "shell", OpType::Shell, "", TransferLimit::Both, ""});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().message, "web1 already has a catalogue entry 'shell'");
  auto unknown = store_->add_catalogue_entry("web9", {0, 0, "shell", OpType::Shell, "", TransferLimit::Both, ""});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().message, "unknown server 'web9'");
  const auto names = store_->catalogue_of(store_->find_server("web1")->id);
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[2].pattern, "systemctl status *");
}

TEST_P(SqliteStoreTest, TransferEntriesKeepTheirDirectionAndPath) {
  CatalogueEntry up{0, 0, "www-up", OpType::Scp, "", TransferLimit::Both, ""};
  up.direction = TransferLimit::Upload;
  up.path = "/srv/www/**";
  ASSERT_TRUE(store_->add_catalogue_entry("web1", up).ok());
  CatalogueEntry logs{0, 0, "logs", OpType::Sftp, "", TransferLimit::Both, ""};
  logs.direction = TransferLimit::Download;
  logs.path = "/var/log/*.log";
  ASSERT_TRUE(store_->add_catalogue_entry("web1", logs).ok());
  CatalogueEntry mirror{0, 0, "mirror", OpType::Rsync, "", TransferLimit::Both, ""};
  mirror.direction = TransferLimit::Download;
  ASSERT_TRUE(store_->add_catalogue_entry("web1", mirror).ok());
  std::map<std::string, CatalogueEntry> by_name;
  for (const auto& e : store_->catalogue_of(store_->find_server("web1")->id)) by_name[e.name] = e;
  EXPECT_EQ(by_name.at("www-up").direction, TransferLimit::Upload);
  EXPECT_EQ(by_name.at("www-up").path, "/srv/www/**");
  EXPECT_EQ(by_name.at("logs").direction, TransferLimit::Download);
  EXPECT_EQ(by_name.at("logs").path, "/var/log/*.log");
  EXPECT_EQ(by_name.at("mirror").direction, TransferLimit::Download);
  EXPECT_EQ(by_name.at("mirror").path, "");
  EXPECT_EQ(by_name.at("shell").direction, TransferLimit::Both);
}

TEST_P(SqliteStoreTest, TransferLimitsAreRefusedWhereTheyMeanNothingOrCouldEscape) {
  auto refusal_of = [&](OpType type, TransferLimit d, std::string path) {
    CatalogueEntry e{0, 0, "t", type, type == OpType::Exec ? "ls" : "", TransferLimit::Both, ""};
    e.direction = d;
    e.path = std::move(path);
    auto r = store_->add_catalogue_entry("web1", e);
    EXPECT_FALSE(r.ok());
    return r.ok() ? std::string() : r.error().message;
  };
  EXPECT_EQ(refusal_of(OpType::Exec, TransferLimit::Upload, ""),
            "--direction and --path only apply to scp, rsync and sftp entries, not exec");
  EXPECT_EQ(refusal_of(OpType::Shell, TransferLimit::Both, "/tmp/**"),
            "--direction and --path only apply to scp, rsync and sftp entries, not shell");
  EXPECT_EQ(refusal_of(OpType::Scp, TransferLimit::Both, "srv/www/**"),
            "path pattern 'srv/www/**' is not absolute: start it with '/'");
  EXPECT_EQ(refusal_of(OpType::Sftp, TransferLimit::Both, "/srv/www/../etc/*"),
            "path pattern '/srv/www/../etc/*' has a '..' segment: write the directory it means");
  EXPECT_NE(refusal_of(OpType::Rsync, TransferLimit::Both, "/srv/..").find("has a '..' segment"), std::string::npos);
  EXPECT_EQ(refusal_of(OpType::Rsync, TransferLimit::Both, "/srv/\x1b[2J"), "the path pattern contains control characters");
  EXPECT_EQ(refusal_of(OpType::Scp, TransferLimit::Upload, "--pattern-not-allowed").substr(0, 12), "path pattern");
  EXPECT_FALSE(store_->add_catalogue_entry("web1", {0, 0, "x", OpType::Scp, "upload", TransferLimit::Both, ""}).ok());  // no --pattern
}

// ------------------------------------------------------------------ grants

TEST_P(SqliteStoreTest, AddGrantRoundTrips) {
  auto g = grant();
  g.ops = {"status", "shell", "status"};
  auto added = store_->add_grant(g);
  ASSERT_TRUE(added.ok()) << added.error().message;
  EXPECT_GT(added->id, 0);
  EXPECT_EQ(added->operator_name, "alice");
  EXPECT_EQ(added->server_name, "web1");
  EXPECT_EQ(added->login, "root");
  EXPECT_EQ(added->ops, (std::vector<std::string>{"status", "shell"}));
  EXPECT_EQ(added->not_before, kNow);
  EXPECT_EQ(added->not_after, kNow + 4h);
  EXPECT_EQ(added->granted_by, "olivia");
  EXPECT_EQ(added->reason, "ticket 42");
  EXPECT_EQ(added->created_at, kNow);
  EXPECT_FALSE(added->revoked_at);
  ASSERT_TRUE(store_->find_grant(added->id));
  EXPECT_EQ(store_->list_grants().size(), 1u);
}

TEST_P(SqliteStoreTest, AddGrantRefusesUnknownOperator) {
  auto g = grant();
  g.operator_name = "bob";
  EXPECT_EQ(refusal(g), "unknown operator 'bob'");
}

TEST_P(SqliteStoreTest, AddGrantRefusesUnknownServer) {
  auto g = grant();
  g.server_name = "web9";
  EXPECT_EQ(refusal(g), "unknown server 'web9'");
}

TEST_P(SqliteStoreTest, AddGrantRefusesADisabledOperator) {
  ASSERT_TRUE(store_->set_operator_disabled("alice", true).ok());
  EXPECT_NE(refusal(grant()).find("operator 'alice' is disabled"), std::string::npos);
}

TEST_P(SqliteStoreTest, AddGrantRefusesAccountsThatAreNotOperators) {
  auto g = grant();
  g.operator_name = "carol";
  EXPECT_NE(refusal(g).find("only role operator can be granted access"), std::string::npos);
  g.operator_name = "olivia";
  g.granted_by = "bastionctl";
  EXPECT_NE(refusal(g).find("'olivia' is an account of role officer"), std::string::npos);
}

TEST_P(SqliteStoreTest, AddGrantRefusesSharedServers) {
  auto g = grant();
  g.server_name = "pub1";
  g.ops = {"shell"};
  EXPECT_EQ(refusal(g), "server pub1 is registered as shared: shared servers can never be granted");
}

TEST_P(SqliteStoreTest, AddGrantRefusesOperationsOutsideTheCatalogue) {
  auto g = grant();
  g.ops = {"shell", "deploy"};
  EXPECT_EQ(refusal(g), "operation 'deploy' is not in the catalogue of web1 (catalogue: shell, status)");
}

TEST_P(SqliteStoreTest, AddGrantRefusesEmptyOps) {
  auto g = grant();
  g.ops.clear();
  EXPECT_NE(refusal(g).find("the grant names no operation"), std::string::npos);
}

TEST_P(SqliteStoreTest, AddGrantRefusesAnEmptyWindow) {
  auto g = grant();
  g.not_after = g.not_before;
  EXPECT_NE(refusal(g).find("grant window is empty: --until"), std::string::npos);
  g.not_after = g.not_before - 1h;
  EXPECT_NE(refusal(g).find("grant window is empty"), std::string::npos);
}

TEST_P(SqliteStoreTest, AddGrantRefusesWindowsLongerThanTheMaximum) {
  auto g = grant();
  g.not_after = g.not_before + std::chrono::hours(24 * 30) + 1s;
  EXPECT_EQ(refusal(g),
            "grant window of 2592001s is longer than the maximum of 30d; grant less and renew it when needed");
  g.not_after = g.not_before + std::chrono::hours(24 * 30);
  EXPECT_TRUE(store_->add_grant(g).ok());
  store_->default_max_grant_duration = 8h;
  g.not_after = g.not_before + 9h;
  EXPECT_NE(refusal(g).find("maximum of 8h"), std::string::npos);
}

TEST_P(SqliteStoreTest, AddGrantRefusesAWindowAlreadyOver) {
  auto g = grant();
  g.not_before = kNow - 5h;
  g.not_after = kNow - 1h;
  EXPECT_NE(refusal(g).find("which is already past"), std::string::npos);
}

TEST_P(SqliteStoreTest, OfficersCannotGrantToThemselves) {
  auto g = grant();
  g.granted_by = "alice";
  EXPECT_NE(refusal(g).find("you cannot grant access to yourself"), std::string::npos);
}

TEST_P(SqliteStoreTest, AddGrantRefusesMissingLoginOrReason) {
  auto g = grant();
  g.login.clear();
  EXPECT_NE(refusal(g).find("needs a login"), std::string::npos);
  g = grant();
  g.reason.clear();
  EXPECT_NE(refusal(g).find("needs a reason"), std::string::npos);
  EXPECT_TRUE(store_->list_grants().empty());
}

TEST_P(SqliteStoreTest, RevokeGrant) {
  auto added = store_->add_grant(grant());
  ASSERT_TRUE(added.ok());
  ASSERT_TRUE(store_->revoke_grant(added->id, kNow + 1h).ok());
  EXPECT_EQ(store_->find_grant(added->id)->revoked_at, kNow + 1h);
  auto twice = store_->revoke_grant(added->id, kNow + 2h);
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.error().message.find("was already revoked at"), std::string::npos);
  auto unknown = store_->revoke_grant(999, kNow);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().message, "no grant with id 999");
}

TEST_P(SqliteStoreTest, GrantsForSelectsByOperatorServerAndLogin) {
  ASSERT_TRUE(store_->add_grant(grant()).ok());
  auto other_login = grant();
  other_login.login = "deploy";
  ASSERT_TRUE(store_->add_grant(other_login).ok());
  const auto alice = store_->find_operator("alice")->id;
  const auto web1 = store_->find_server("web1")->id;
  const auto root = store_->grants_for(alice, web1, "root");
  ASSERT_EQ(root.size(), 1u);
  EXPECT_EQ(root[0].login, "root");
  EXPECT_EQ(store_->grants_of(alice).size(), 2u);
  EXPECT_TRUE(store_->grants_for(alice, web1, "nobody").empty());
}

// ------------------------------------------------------------------ officer changes

TEST_P(SqliteStoreTest, RemoveKeyByFingerprint) {
  ASSERT_TRUE(store_->add_key("alice", kEd25519).ok());
  ASSERT_TRUE(store_->add_key("alice", kEcdsa).ok());
  auto removed = store_->remove_key("alice", kEd25519Fingerprint);
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_EQ(removed->type, "ssh-ed25519");
  const auto left = store_->keys_of(store_->find_operator("alice")->id);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].fingerprint, kEcdsaFingerprint);
  auto again = store_->remove_key("alice", kEd25519Fingerprint);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().message, "operator 'alice' has no key " + std::string(kEd25519Fingerprint) +
                                       " (its keys: " + std::string(kEcdsaFingerprint) + ")");
  EXPECT_EQ(store_->remove_key("bob", kEcdsaFingerprint).error().message, "unknown operator 'bob'");
}

TEST_P(SqliteStoreTest, ResetTotpReplacesTheSecretAndForgetsTheLastStep) {
  const auto id = store_->find_operator("alice")->id;
  ASSERT_TRUE(store_->consume_totp_step(id, 500));
  ASSERT_TRUE(store_->reset_totp("alice", "GEZDGNBVGY3TQOJQ").ok());
  EXPECT_EQ(store_->find_operator("alice")->totp_secret, "GEZDGNBVGY3TQOJQ");
  EXPECT_TRUE(store_->consume_totp_step(id, 1));
  EXPECT_EQ(store_->reset_totp("bob", "GEZDGNBVGY3TQOJQ").error().message, "unknown operator 'bob'");
  EXPECT_FALSE(store_->reset_totp("alice", "").ok());
}

TEST_P(SqliteStoreTest, MakingAServerSharedRevokesGrantsThatHaveNotEnded) {
  auto pending = grant();
  pending.not_before = kNow + 1h;
  pending.not_after = kNow + 2h;
  const auto a = store_->add_grant(grant());
  const auto p = store_->add_grant(pending);
  ASSERT_TRUE(a.ok() && p.ok());
  auto revoked = store_->set_server_kind("web1", ServerKind::Shared, kNow + 10min);
  ASSERT_TRUE(revoked.ok()) << revoked.error().message;
  ASSERT_EQ(revoked->size(), 2u);
  EXPECT_FALSE((*revoked)[0].revoked_at.has_value());  // returned as they were before
  EXPECT_EQ(store_->find_grant(a->id)->revoked_at, kNow + 10min);
  EXPECT_EQ(store_->find_grant(p->id)->revoked_at, kNow + 10min);
  EXPECT_EQ(store_->find_server("web1")->kind, ServerKind::Shared);
  EXPECT_EQ(store_->set_server_kind("web1", ServerKind::Shared, kNow).error().message,
            "server web1 is already shared");
  auto back = store_->set_server_kind("web1", ServerKind::Dedicated, kNow);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->empty());
}

TEST_P(SqliteStoreTest, SetHostKey) {
  ASSERT_TRUE(store_->set_host_key("web1", "ssh-ed25519 AAAAnew").ok());
  EXPECT_EQ(store_->find_server("web1")->host_key, "ssh-ed25519 AAAAnew");
  EXPECT_EQ(store_->set_host_key("web1", "ssh-ed25519 AAAAnew").error().message,
            "server web1 already pins this host key");
  EXPECT_EQ(store_->set_host_key("nope", "ssh-ed25519 AAAAnew").error().message, "unknown server 'nope'");
}

TEST_P(SqliteStoreTest, RemoveServerRefusesLiveGrantsUnlessForcedAndRetiresTheName) {
  const auto g = store_->add_grant(grant());
  ASSERT_TRUE(g.ok());
  auto refused = store_->remove_server("web1", false, kNow);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message, "server web1 still has grant " + std::to_string(g->id) +
                                         " (alice as root until 2026-11-23 14:00:00 UTC); revoke them first, or "
                                         "remove with --force, which revokes them");
  auto forced = store_->remove_server("web1", true, kNow);
  ASSERT_TRUE(forced.ok());
  ASSERT_EQ(forced->size(), 1u);
  EXPECT_FALSE(store_->find_server("web1"));
  EXPECT_EQ(store_->list_servers().size(), 1u);
  EXPECT_EQ(store_->find_grant(g->id)->server_name, "web1");
  EXPECT_TRUE(store_->find_grant(g->id)->revoked_at.has_value());
  auto reuse = store_->add_server(server("web1", ServerKind::Dedicated));
  ASSERT_FALSE(reuse.ok());
  EXPECT_EQ(reuse.error().message,
            "the name web1 belonged to a server removed at 2026-11-23 10:00:00 UTC; names are not reused, so choose "
            "another");
}

TEST_P(SqliteStoreTest, RemoveCatalogueEntryRefusedWhileGranted) {
  const auto g = store_->add_grant(grant());
  ASSERT_TRUE(g.ok());
  auto refused = store_->remove_catalogue_entry("web1", "status");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message, "catalogue entry 'status' of web1 is still granted by grant " +
                                         std::to_string(g->id) +
                                         " (alice as root until 2026-11-23 14:00:00 UTC); revoke those grants or "
                                         "wait until they end");
  clock_.advance(4h);  // the grant has ended
  ASSERT_TRUE(store_->remove_catalogue_entry("web1", "status").ok());
  EXPECT_EQ(store_->catalogue_of(store_->find_server("web1")->id).size(), 1u);
  EXPECT_EQ(store_->remove_catalogue_entry("web1", "status").error().message, "web1 has no catalogue entry 'status'");
}

TEST_P(SqliteStoreTest, WhoHasAccessIsActiveGrantsOnly) {
  auto pending = grant();
  pending.not_before = kNow + 1h;
  const auto active = store_->add_grant(grant());
  const auto later = store_->add_grant(pending);
  const auto revoked = store_->add_grant(grant());
  ASSERT_TRUE(active.ok() && later.ok() && revoked.ok());
  ASSERT_TRUE(store_->revoke_grant(revoked->id, kNow).ok());
  const auto web1 = store_->find_server("web1")->id;
  auto now = store_->who_has_access(web1, kNow);
  ASSERT_EQ(now.size(), 1u);
  EXPECT_EQ(now[0].id, active->id);
  EXPECT_EQ(store_->who_has_access(web1, kNow + 2h).size(), 2u);
  EXPECT_TRUE(store_->who_has_access(web1, kNow + 4h).empty());  // not_after is exclusive
}

TEST_P(SqliteStoreTest, MaxGrantDurationIsASettingSharedByEveryStore) {
  EXPECT_EQ(store_->max_grant_duration(), std::chrono::seconds(24h * 30));
  ASSERT_TRUE(store_->set_max_grant_duration(8h).ok());
  SqliteStore other(*db::Database::open(path_, false), clock_);
  EXPECT_EQ(other.max_grant_duration(), 8h);
  auto long_grant = grant();
  long_grant.not_after = kNow + 9h;
  EXPECT_EQ(refusal(long_grant), "grant window of 9h is longer than the maximum of 8h; grant less and renew it when needed");
  EXPECT_FALSE(store_->set_max_grant_duration(30s).ok());
  EXPECT_FALSE(store_->set_max_grant_duration(24h * 400).ok());
}

TEST_P(SqliteStoreTest, AChangeNotCommittedUndoesEveryWriteInIt) {
  {
    auto change = store_->begin_change();
    ASSERT_TRUE(store_->set_operator_disabled("olivia", true).ok());
    ASSERT_TRUE(store_->add_grant(grant()).ok());  // a nested transaction inside the change
  }
  EXPECT_FALSE(store_->find_operator("olivia")->disabled);
  EXPECT_TRUE(store_->list_grants().empty());
  {
    auto change = store_->begin_change();
    ASSERT_TRUE(store_->add_grant(grant()).ok());
    EXPECT_FALSE(store_->add_grant(NewGrant{}).ok());  // a refused write rolls back only itself
    change->commit();
  }
  EXPECT_EQ(store_->list_grants().size(), 1u);
}

}  // namespace
}  // namespace bastion::authz
