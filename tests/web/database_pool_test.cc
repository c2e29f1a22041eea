// DatabasePool (web/database_pool.h): the portal's connections, kept between requests. The same
// cases on SQLite and PostgreSQL; on PostgreSQL also a connection the server dropped while it sat
// in the pool, which must not reach a request.
#include "web/database_pool.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/db/test_database.h"

namespace bastion::web {
namespace {

class DatabasePoolTest : public ::testing::TestWithParam<test_db::Engine> {
 protected:
  void SetUp() override {
    test_database_ = std::make_unique<test_db::TestDatabase>(GetParam());
    BASTION_REQUIRE_ENGINE(*test_database_);
    auto db = db::Database::open(test_database_->location(), true);  // initialised, as bastionctl init does
    ASSERT_TRUE(db.ok()) << db.error().message;
    other_ = *db;
  }
  void TearDown() override {
    other_.reset();
    test_database_.reset();
  }

  static std::int64_t scalar(db::Database& db, const std::string& sql) {
    auto q = db.prepare(sql);
    EXPECT_TRUE(q.step()) << sql;
    return q.col_int(0);
  }

  std::unique_ptr<test_db::TestDatabase> test_database_;
  db::DatabasePtr other_;  // another connection: a bastiond's, say
};

INSTANTIATE_TEST_SUITE_P(Engines, DatabasePoolTest, test_db::kEngines, test_db::engine_name);

TEST_P(DatabasePoolTest, AConnectionGoesBackWhenItsLastCopyIsGoneAndServesTheNextRequest) {
  DatabasePool pool(test_database_->location());
  db::Database* first = nullptr;
  {
    auto db = pool.take();
    ASSERT_TRUE(db.ok()) << db.error().message;
    first = db->get();
    db::DatabasePtr copy = *db;  // a store of the request holds one
    db->reset();
    EXPECT_EQ(pool.idle(), 0U) << "back while a copy still uses it";
    EXPECT_EQ(copy->is_postgres(), GetParam() == test_db::Engine::Postgres);
  }
  EXPECT_EQ(pool.idle(), 1U);
  auto again = pool.take();
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->get(), first);
  EXPECT_EQ(pool.idle(), 0U);
  // It works: what another connection wrote is read through it.
  other_->exec("INSERT INTO clients (name) VALUES ('acme')");
  EXPECT_EQ(scalar(**again, "SELECT count(*) FROM clients"), 1);
}

TEST_P(DatabasePoolTest, TwoRequestsAtOnceHaveTwoConnectionsAndThePoolKeepsAtMostItsSize) {
  DatabasePool pool(test_database_->location(), 2);
  {
    auto a = pool.take(), b = pool.take(), c = pool.take();
    ASSERT_TRUE(a.ok() && b.ok() && c.ok());
    EXPECT_NE(a->get(), b->get());
    EXPECT_NE(b->get(), c->get());
    EXPECT_NE(a->get(), c->get());
  }
  EXPECT_EQ(pool.idle(), 2U);
}

TEST_P(DatabasePoolTest, AConnectionMayOutliveThePool) {
  db::DatabasePtr kept;
  {
    DatabasePool pool(test_database_->location());
    auto db = pool.take();
    ASSERT_TRUE(db.ok()) << db.error().message;
    kept = *db;
  }
  other_->exec("INSERT INTO clients (name) VALUES ('acme')");
  EXPECT_EQ(scalar(*kept, "SELECT count(*) FROM clients"), 1);
  kept.reset();  // goes back to a pool nobody holds any more: closed, no crash
}

TEST_P(DatabasePoolTest, ADatabaseThatCannotBeOpenedIsAnErrorThatSaysWhy) {
  const std::string missing = GetParam() == test_db::Engine::Postgres
                                  ? "postgresql:///bastion_no_such_database?host=/nonexistent-socket-dir"
                                  : test_database_->scratch_dir() + "/not-initialised.db";
  DatabasePool pool(missing);
  auto db = pool.take();
  ASSERT_FALSE(db.ok());
  EXPECT_FALSE(db.error().message.empty());
  EXPECT_EQ(pool.idle(), 0U);
}

// On PostgreSQL: the server ends the pooled connection while it sits idle (a restart, a proxy's
// idle timeout). The next request gets a connection that works, not the dead one's "try again".
TEST(DatabasePoolOnPostgres, AConnectionTheServerDroppedWhileIdleIsNotHandedOut) {
  test_db::TestDatabase pg(test_db::Engine::Postgres);
  BASTION_REQUIRE_ENGINE(pg);
  auto admin = db::Database::open(pg.location(), true);
  ASSERT_TRUE(admin.ok()) << admin.error().message;
  DatabasePool pool(pg.location());
  std::string pid;
  {
    auto db = pool.take();
    ASSERT_TRUE(db.ok()) << db.error().message;
    auto q = (*db)->prepare("SELECT pg_backend_pid()");
    ASSERT_TRUE(q.step());
    pid = std::to_string(q.col_int(0));
  }
  ASSERT_EQ(pool.idle(), 1U);
  {
    auto q = (*admin)->prepare("SELECT pg_terminate_backend(" + pid + ")::int");
    ASSERT_TRUE(q.step());
    ASSERT_EQ(q.col_int(0), 1);
  }
  for (;;) {  // pg_terminate_backend only signals the server process: wait until it is gone
    auto q = (*admin)->prepare("SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid);
    ASSERT_TRUE(q.step());
    if (q.col_int(0) == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto db = pool.take();
  ASSERT_TRUE(db.ok()) << db.error().message;
  auto q = (*db)->prepare("SELECT pg_backend_pid()");
  ASSERT_TRUE(q.step());  // the first statement of the request works
  EXPECT_NE(std::to_string(q.col_int(0)), pid);
}

}  // namespace
}  // namespace bastion::web
