#include "authz/db.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "authz/schema.h"

namespace bastion::db {
namespace {

class DbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "bastion-db-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/bastion.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  DatabasePtr open_new() {
    auto db = Database::open(path_, true);
    EXPECT_TRUE(db.ok()) << (db.ok() ? "" : db.error().message);
    return db.ok() ? *db : nullptr;
  }

  std::string dir_, path_;
};

TEST_F(DbTest, CreatesTheFileWithMode0600) {
  ASSERT_TRUE(open_new());
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(DbTest, RefusesAMissingFileWithoutCreate) {
  auto db = Database::open(path_, false);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.error().message,
            "database " + path_ + " does not exist; run `bastionctl --db " + path_ + " init` first");
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(DbTest, RefusesAnUninitialisedFileWithoutCreate) {
  std::ofstream(path_).close();
  auto db = Database::open(path_, false);
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.error().message.find("is not initialised"), std::string::npos) << db.error().message;
}

TEST_F(DbTest, EnablesWalForeignKeysAndMigratesToLatest) {
  auto db = open_new();
  ASSERT_TRUE(db);
  auto mode = db->prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode.step());
  EXPECT_EQ(mode.col_text(0), "wal");
  auto fk = db->prepare("PRAGMA foreign_keys");
  ASSERT_TRUE(fk.step());
  EXPECT_EQ(fk.col_int(0), 1);
  EXPECT_EQ(db->schema_version(), latest_schema_version());
}

TEST_F(DbTest, MigrationOneCreatesEveryTableOfTheProduct) {
  auto db = open_new();
  ASSERT_TRUE(db);
  for (const char* table : {"clients", "operators", "operator_keys", "servers", "catalogue", "grants", "sessions",
                            "recordings", "events"}) {
    auto s = db->prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?");
    s.bind(1, table);
    ASSERT_TRUE(s.step());
    EXPECT_EQ(s.col_int(0), 1) << table;
  }
}

TEST_F(DbTest, ReopeningKeepsDataAndDoesNotRerunMigrations) {
  {
    auto db = open_new();
    ASSERT_TRUE(db);
    db->exec("INSERT INTO clients(name) VALUES ('acme')");
  }
  auto again = Database::open(path_, false);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ((*again)->schema_version(), latest_schema_version());
  auto s = (*again)->prepare("SELECT name FROM clients");
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.col_text(0), "acme");
}

TEST_F(DbTest, RefusesADatabaseNewerThanTheCode) {
  {
    auto db = open_new();
    ASSERT_TRUE(db);
    db->exec("PRAGMA user_version = " + std::to_string(latest_schema_version() + 1));
  }
  auto again = Database::open(path_, false);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("newer than this program"), std::string::npos) << again.error().message;
}

// SQLite has no change notices: its readers poll (one node, nobody else to hear from).
TEST_F(DbTest, HasNoChangeNotices) {
  auto db = open_new();
  ASSERT_TRUE(db);
  EXPECT_FALSE(db->listen_for_changes());
  EXPECT_EQ(db->change_fd(), -1);
  EXPECT_EQ(db->take_changes(), Database::Changes::Unknown);
}

TEST_F(DbTest, TransactionRollsBackUnlessCommitted) {
  auto db = open_new();
  ASSERT_TRUE(db);
  {
    Database::Transaction tx(*db);
    db->exec("INSERT INTO clients(name) VALUES ('dropped')");
  }
  {
    Database::Transaction tx(*db);
    db->exec("INSERT INTO clients(name) VALUES ('kept')");
    tx.commit();
  }
  auto s = db->prepare("SELECT group_concat(name) FROM clients");
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.col_text(0), "kept");
}

TEST_F(DbTest, StatementBindsAndReadsIntegersTextAndNull) {
  auto db = open_new();
  ASSERT_TRUE(db);
  auto s = db->prepare("SELECT ?, ?, ?, ?");
  s.bind(1, std::int64_t{1} << 40).bind(2, std::string_view("text")).bind(3, std::nullopt);
  s.bind(4, std::optional<std::int64_t>{});
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.col_int(0), std::int64_t{1} << 40);
  EXPECT_EQ(s.col_text(1), "text");
  EXPECT_TRUE(s.col_null(2));
  EXPECT_TRUE(s.col_null(3));
  EXPECT_EQ(s.col_text(2), "");
  EXPECT_FALSE(s.step());
}

TEST_F(DbTest, ForeignKeysAreEnforced) {
  auto db = open_new();
  ASSERT_TRUE(db);
  EXPECT_THROW(db->exec("INSERT INTO catalogue(server_id, name, type) VALUES (999, 'shell', 'shell')"), DbError);
}

TEST_F(DbTest, FailuresOfSqlThrowDbErrorWithSqlitesMessage) {
  auto db = open_new();
  ASSERT_TRUE(db);
  try {
    db->prepare("SELECT * FROM no_such_table");
    FAIL() << "prepare should throw";
  } catch (const DbError& e) {
    EXPECT_NE(std::string(e.what()).find("no such table"), std::string::npos) << e.what();
  }
}

TEST_F(DbTest, ChangesAndReturnedIdReflectTheLastStatement) {
  auto db = open_new();
  ASSERT_TRUE(db);
  const auto id = db->prepare("INSERT INTO clients(name) VALUES (?) RETURNING id").bind(1, std::string_view("a")).returned_id();
  EXPECT_GT(id, 0);
  EXPECT_EQ(db->changes(), 1);
  EXPECT_EQ(db->prepare("INSERT INTO clients(name) VALUES ('b') RETURNING id").returned_id(), id + 1);
  db->prepare("UPDATE clients SET name = 'c' WHERE id = ?").bind(1, id + 100).step();
  EXPECT_EQ(db->changes(), 0);
}

}  // namespace
}  // namespace bastion::db
