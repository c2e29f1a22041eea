// db::Database on PostgreSQL (authz/db_postgres.cc), against a real server (tests/pg-test-server):
// the placeholders, transactions, the write lock, lost connections, concurrent migrations and the
// change notices (LISTEN/NOTIFY).
// What both engines share is proven by the stores' suites, run on both.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <thread>

#include "authz/db.h"
#include "authz/schema.h"
#include "tests/db/test_database.h"

namespace bastion::db {
namespace {

class DbPostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BASTION_REQUIRE_ENGINE(test_database_);
    db_ = open();
    ASSERT_TRUE(db_);
  }

  DatabasePtr open() {
    auto db = Database::open(test_database_.location(), true);
    EXPECT_TRUE(db.ok()) << (db.ok() ? "" : db.error().message);
    return db.ok() ? *db : nullptr;
  }

  std::int64_t scalar(Database& db, const std::string& sql) {
    auto q = db.prepare(sql);
    EXPECT_TRUE(q.step()) << sql;
    return q.col_int(0);
  }

  test_db::TestDatabase test_database_{test_db::Engine::Postgres};
  DatabasePtr db_;
};

TEST_F(DbPostgresTest, UrlsSelectPostgresAndMigrateToTheLatestVersion) {
  EXPECT_TRUE(Database::is_postgres_location("postgresql://h/db"));
  EXPECT_TRUE(Database::is_postgres_location("postgres://h/db"));
  EXPECT_FALSE(Database::is_postgres_location("/var/lib/bastion/bastion.db"));
  EXPECT_FALSE(Database::is_postgres_location("sqlite:/var/lib/bastion/bastion.db"));
  EXPECT_TRUE(db_->is_postgres());
  EXPECT_EQ(db_->schema_version(), latest_schema_version());
}

TEST_F(DbPostgresTest, QuestionMarksInQuotedTextAndCommentsAreNotPlaceholders) {
  auto q = db_->prepare(
      "SELECT '?''?' || CAST(? AS TEXT) /* ? */, \"?column?\"\n"
      "FROM (SELECT ?3 AS \"?column?\") t -- ?\n"
      "WHERE ?2 = 7");
  q.bind(1, std::string_view("x")).bind(2, std::int64_t{7}).bind(3, std::string_view("third"));
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.col_text(0), "?'?x");
  EXPECT_EQ(q.col_text(1), "third");
  EXPECT_FALSE(q.step());
  EXPECT_THROW(db_->prepare("SELECT ?").bind(2, std::int64_t{1}), DbError);
}

TEST_F(DbPostgresTest, StatementBindsAndReadsIntegersTextNullAndBooleans) {
  auto q = db_->prepare(
      "SELECT CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT), 2 > 1, 1 > 2, sum(x) FROM (VALUES (4), (5)) v(x)");
  q.bind(1, std::int64_t{-9007199254740993}).bind(2, std::string_view("é\t'\"")).bind(3, std::nullopt);
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.col_int(0), -9007199254740993);
  EXPECT_EQ(q.col_text(1), "é\t'\"");
  EXPECT_TRUE(q.col_null(2));
  EXPECT_EQ(q.col_text(2), "");
  EXPECT_EQ(q.col_int(3), 1);
  EXPECT_EQ(q.col_int(4), 0);
  EXPECT_EQ(q.col_int(5), 9);
  // A NUL byte would be cut off silently by libpq's C strings: refused instead.
  EXPECT_THROW(db_->prepare("SELECT ?").bind(1, std::string_view("a\0b", 3)), DbError);
}

TEST_F(DbPostgresTest, ResetLetsAStatementRunAgainWithNewBindings) {
  auto q = db_->prepare("INSERT INTO clients(name) VALUES (?) RETURNING id");
  const auto first = q.bind(1, std::string_view("acme")).returned_id();
  q.reset();
  const auto second = q.bind(1, std::string_view("globex")).returned_id();
  EXPECT_EQ(second, first + 1);
  db_->prepare("UPDATE clients SET grace_days = 1").step();
  EXPECT_EQ(db_->changes(), 2);
}

// A store's statement is prepared once per connection (the server plans it once), still runs after
// the transaction it was first prepared in rolled back, and past the cap of prepared texts the rest
// run unprepared.
TEST_F(DbPostgresTest, StatementsArePreparedOncePerConnectionAndOutliveARollback) {
  // pg_prepared_statements lists this connection's prepared statements (this query among them).
  auto prepared = [&] { return scalar(*db_, "SELECT count(*) FROM pg_prepared_statements"); };
  const auto before = prepared();
  for (int i = 0; i < 3; ++i) {
    auto q = db_->prepare("SELECT count(*) FROM clients WHERE name = ?");
    q.bind(1, std::string_view("nobody"));
    ASSERT_TRUE(q.step());
    EXPECT_EQ(q.col_int(0), 0);
  }
  EXPECT_EQ(prepared(), before + 1);
  {
    Database::Transaction tx(*db_);
    db_->prepare("INSERT INTO clients(name) VALUES (?)").bind(1, std::string_view("rolled back")).step();
  }  // not committed: rolled back
  db_->prepare("INSERT INTO clients(name) VALUES (?)").bind(1, std::string_view("kept")).step();
  EXPECT_EQ(scalar(*db_, "SELECT count(*) FROM clients"), 1);
  EXPECT_EQ(prepared(), before + 3);
  for (int i = 0; i < 600; ++i) {
    auto q = db_->prepare("SELECT ? + " + std::to_string(i));
    q.bind(1, std::int64_t{1});
    ASSERT_TRUE(q.step());
    EXPECT_EQ(q.col_int(0), i + 1);
  }
  EXPECT_EQ(prepared(), 512);
}

TEST_F(DbPostgresTest, TransactionRollsBackUnlessCommittedAndNestsAsSavepoints) {
  {
    Database::Transaction tx(*db_);
    db_->exec("INSERT INTO clients(name) VALUES ('rolled-back')");
  }
  {
    Database::Transaction outer(*db_);
    db_->exec("INSERT INTO clients(name) VALUES ('outer')");
    {
      Database::Transaction inner(*db_);
      db_->exec("INSERT INTO clients(name) VALUES ('inner-undone')");
    }
    {
      Database::Transaction inner(*db_);
      db_->exec("INSERT INTO clients(name) VALUES ('inner-kept')");
      inner.commit();
    }
    outer.commit();
  }
  auto q = db_->prepare("SELECT name FROM clients ORDER BY name");
  std::vector<std::string> names;
  while (q.step()) names.push_back(q.col_text(0));
  EXPECT_EQ(names, (std::vector<std::string>{"inner-kept", "outer"}));
}

// PostgreSQL aborts a whole transaction at its first failed statement (SQLite undoes that statement
// alone): a caller that went on must be told at commit that nothing was kept.
TEST_F(DbPostgresTest, CommitOfATransactionWithAFailedStatementThrows) {
  {
    Database::Transaction tx(*db_);
    db_->exec("INSERT INTO clients(name) VALUES ('kept?')");
    EXPECT_THROW(db_->exec("INSERT INTO no_such_table VALUES (1)"), DbError);
    EXPECT_THROW(tx.commit(), DbError);
  }
  EXPECT_EQ(scalar(*db_, "SELECT count(*) FROM clients"), 0);
  Database::Transaction next(*db_);  // the connection is usable again
  next.commit();
}

// A Transaction holds the one write lock (as SQLite's BEGIN IMMEDIATE): a second connection's
// Transaction waits for it, and past its busy timeout fails as busy, with advice to try again.
TEST_F(DbPostgresTest, ASecondWriterWaitsForTheFirstAndFailsAsBusyPastItsTimeout) {
  auto other = open();
  ASSERT_TRUE(other);
  Database::Transaction holding(*db_);
  other->set_busy_timeout(std::chrono::milliseconds(100));
  try {
    Database::Transaction blocked(*other);
    FAIL() << "the second writer should not get the lock";
  } catch (const DbError& e) {
    EXPECT_TRUE(e.busy) << e.what();
    EXPECT_TRUE(names_busy(e.what())) << e.what();
  }
  holding.commit();
  Database::Transaction now_free(*other);
  now_free.commit();
}

// A connection the server dropped fails the next statement as busy, with words a person can act
// on (it may have reached the server: it is not sent twice), and the one after reconnects.
TEST_F(DbPostgresTest, ALostConnectionFailsOneStatementAsBusyAndIsThenReopened) {
  auto killer = open();
  ASSERT_TRUE(killer);
  // kill ends db_'s server process and returns once it is gone (pg_terminate_backend only signals it).
  auto kill = [&] {
    const auto pid = std::to_string(scalar(*db_, "SELECT pg_backend_pid()"));
    EXPECT_EQ(scalar(*killer, "SELECT pg_terminate_backend(" + pid + ")::int"), 1);
    while (scalar(*killer, "SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid) != 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };
  auto expect_lost = [&](const std::function<void()>& statement) {
    try {
      statement();
      ADD_FAILURE() << "the statement should fail: the connection is gone";
    } catch (const DbError& e) {
      EXPECT_TRUE(e.busy) << e.what();
      EXPECT_TRUE(names_busy(e.what())) << e.what();
      EXPECT_NE(refusal_for(e).find("the bastion's database (PostgreSQL at "), std::string::npos) << refusal_for(e);
      EXPECT_NE(refusal_for(e).find("cannot be reached; try again"), std::string::npos) << refusal_for(e);
    }
  };
  kill();
  expect_lost([&] { db_->exec("INSERT INTO clients(name) VALUES ('lost')"); });
  EXPECT_EQ(scalar(*db_, "SELECT count(*) FROM clients"), 0);

  Database::Transaction tx(*db_);
  kill();
  expect_lost([&] { db_->exec("INSERT INTO clients(name) VALUES ('lost in a transaction')"); });
  {
    Database::Transaction next(*db_);  // an outer transaction again, on the connection opened again
    db_->exec("INSERT INTO clients(name) VALUES ('after')");
    next.commit();
  }
  EXPECT_EQ(scalar(*db_, "SELECT count(*) FROM clients"), 1);
}

// grant_maker: one client, operator and server in db, and a function that adds a grant of that
// operator on that server and returns its id.
std::function<std::int64_t()> grant_maker(Database& db) {
  db.exec("INSERT INTO clients(name) VALUES ('acme')");
  db.exec("INSERT INTO operators(name, role, totp_secret, created_at) VALUES ('alice', 'operator', 's', 0)");
  db.exec("INSERT INTO servers(name, host, port, client, kind, host_key, created_at) "
          "VALUES ('web1', 'h', 22, 'acme', 'dedicated', 'k', 0)");
  return [&db] {
    return db.prepare("INSERT INTO grants(operator_id, server_id, login, ops, not_before, not_after, reason, "
                      "granted_by, created_at) SELECT o.id, s.id, 'root', 'shell', 0, 10, 'r', 'boss', 0 "
                      "FROM operators o, servers s RETURNING id")
        .returned_id();
  };
}

// readable: whether fd has something to read within `wait` (a notice on its way).
bool readable(int fd, std::chrono::milliseconds wait) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(wait.count())) == 1;
}

// The wake-up of live checks (migration 20): a grant revoked on one connection is notified to
// another that listens; a listener whose connection was lost says so (Unknown: poll instead),
// connects again at its next statement, says a notice may have been missed (Some), and hears the
// next change again.
TEST_F(DbPostgresTest, AChangeToGrantsIsNotifiedToAListenerWhichListensAgainAfterItsConnectionWasLost) {
  auto grant = grant_maker(*db_);
  const auto first = grant(), second = grant();
  auto revoke = [&](std::int64_t id) {
    db_->prepare("UPDATE grants SET revoked_at = 5 WHERE id = ?").bind(1, id).step();
  };

  auto listener = open();
  ASSERT_TRUE(listener);
  EXPECT_EQ(listener->take_changes(), Database::Changes::Unknown);  // not listening yet
  ASSERT_TRUE(listener->listen_for_changes());
  EXPECT_EQ(listener->take_changes(), Database::Changes::Some);  // what came before was not heard
  EXPECT_EQ(listener->take_changes(), Database::Changes::None);
  ASSERT_GE(listener->change_fd(), 0);

  revoke(first);
  ASSERT_TRUE(readable(listener->change_fd(), std::chrono::seconds(10))) << "no notice of the revocation";
  listener->read_changes();
  EXPECT_EQ(listener->take_changes(), Database::Changes::Some);
  EXPECT_EQ(listener->take_changes(), Database::Changes::None);
  EXPECT_EQ(scalar(*listener, "SELECT version FROM access_version"), scalar(*db_, "SELECT version FROM access_version"));

  // The listener's server process ends (a restart, a proxy dropping it); a change meanwhile is not
  // heard by anyone.
  const auto pid = std::to_string(scalar(*listener, "SELECT pg_backend_pid()"));
  EXPECT_EQ(scalar(*db_, "SELECT pg_terminate_backend(" + pid + ")::int"), 1);
  // (The server's last words, then the end of the stream: seen on the socket, perhaps in two reads.)
  for (int i = 0; i < 100 && listener->change_fd() >= 0; ++i) {
    if (readable(listener->change_fd(), std::chrono::milliseconds(100))) listener->read_changes();
  }
  EXPECT_EQ(listener->change_fd(), -1) << "the end of the connection was not seen";
  EXPECT_EQ(listener->take_changes(), Database::Changes::Unknown);
  revoke(second);

  // Its next statement connects again (the loss was seen already: this one runs), and listens.
  EXPECT_EQ(scalar(*listener, "SELECT version FROM access_version"), scalar(*db_, "SELECT version FROM access_version"));
  EXPECT_NE(std::to_string(scalar(*listener, "SELECT pg_backend_pid()")), pid);
  EXPECT_EQ(listener->take_changes(), Database::Changes::Some);
  EXPECT_EQ(listener->take_changes(), Database::Changes::None);
  ASSERT_GE(listener->change_fd(), 0);
  db_->prepare("UPDATE grants SET not_after = 20 WHERE id = ?").bind(1, first).step();
  ASSERT_TRUE(readable(listener->change_fd(), std::chrono::seconds(10))) << "no notice after the reconnect";
  EXPECT_EQ(listener->take_changes(), Database::Changes::Some);
}

// Migration 21: a transaction of many changes moves the access version once and announces it once
// (per statement, each update walked past every version of the row the transaction had left, so a
// bulk change was quadratic); the next transaction moves it again, and so does a change made after a
// rolled-back savepoint of the same transaction.
TEST_F(DbPostgresTest, ATransactionOfManyChangesMovesTheAccessVersionOnce) {
  auto grant = grant_maker(*db_);
  auto listener = open();
  ASSERT_TRUE(listener);
  ASSERT_TRUE(listener->listen_for_changes());
  EXPECT_EQ(listener->take_changes(), Database::Changes::Some);  // what came before was not heard
  const auto before = scalar(*db_, "SELECT version FROM access_version");
  {
    Database::Transaction tx(*db_);
    for (int i = 0; i < 500; ++i) {
      const auto id = grant();
      if (i % 2 == 0) db_->prepare("UPDATE grants SET revoked_at = 5 WHERE id = ?").bind(1, id).step();
    }
    tx.commit();
  }
  EXPECT_EQ(scalar(*db_, "SELECT count(*) FROM grants"), 500);
  EXPECT_EQ(scalar(*db_, "SELECT version FROM access_version"), before + 1);
  ASSERT_TRUE(readable(listener->change_fd(), std::chrono::seconds(10))) << "no notice of the transaction";
  listener->read_changes();
  EXPECT_EQ(listener->take_changes(), Database::Changes::Some);

  grant();  // a transaction of its own
  EXPECT_EQ(scalar(*db_, "SELECT version FROM access_version"), before + 2);
  {
    Database::Transaction tx(*db_);
    db_->exec("SAVEPOINT first_try");
    grant();
    db_->exec("ROLLBACK TO SAVEPOINT first_try");
    grant();
    grant();
    tx.commit();
  }
  EXPECT_EQ(scalar(*db_, "SELECT version FROM access_version"), before + 3);
  EXPECT_EQ(scalar(*db_, "SELECT count(*) FROM grants"), 503);
}

TEST_F(DbPostgresTest, AnUnreachableServerIsRefusedWithAClearReason) {
  const std::string nowhere = test_database_.scratch_dir();  // no server listens here
  auto db = Database::open("postgresql:///bastion?host=" + nowhere + "&user=postgres", false);
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.error().message.find("the bastion's database (PostgreSQL) cannot be reached"), std::string::npos)
      << db.error().message;
}

TEST_F(DbPostgresTest, AnEmptyDatabaseIsNotInitialisedWithoutCreate) {
  db_->exec("DROP TABLE bastion_schema");
  auto db = Database::open(test_database_.location(), false);
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.error().message.find("is not initialised"), std::string::npos) << db.error().message;
  EXPECT_EQ(db.error().message.find(test_database_.location()), std::string::npos)
      << "a URL may hold a password: " << db.error().message;
}

// Two processes opening one fresh database at once: one migrates, the other finds it done.
TEST_F(DbPostgresTest, TwoProcessesMigratingAFreshDatabaseAtOnceBothSucceed) {
  test_db::TestDatabase fresh(test_db::Engine::Postgres);
  BASTION_REQUIRE_ENGINE(fresh);
  std::vector<pid_t> children;
  for (int c = 0; c < 2; ++c) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto db = Database::open(fresh.location(), true);
      ::_exit(db.ok() && (*db)->schema_version() == latest_schema_version() ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child failed with status " << status;
  }
}

}  // namespace
}  // namespace bastion::db
