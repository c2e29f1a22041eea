#pragma once
// TestDatabase: a fresh, empty database for one test, of either engine, so that a store's test
// suite runs its same cases against SQLite and PostgreSQL (gtest value-parameterised:
// INSTANTIATE_TEST_SUITE_P(Engines, Suite, bastion::test_db::kEngines, bastion::test_db::engine_name)).
//
// SQLite: a file in a temp directory. PostgreSQL: a new schema (first on the search_path of the
// URL) in the database bastion_tests of the one server the test binary shares (tests/pg-test-server): under ctest the
// fixture `pg_server` starts it once for every test (BASTION_TEST_PG_STATE names it); a binary run
// by hand starts its own on the first PostgreSQL case and stops it at exit. Without PostgreSQL
// installed, a PostgreSQL case fails in CI (CI=true) and is skipped elsewhere, saying why.
#include <gtest/gtest.h>

#include <ostream>
#include <string>

namespace bastion::test_db {

enum class Engine { Sqlite, Postgres };

inline const auto kEngines = ::testing::Values(Engine::Sqlite, Engine::Postgres);

std::string engine_name(const ::testing::TestParamInfo<Engine>& info);
// PrintTo names the engine in gtest's and ctest's listings ("GetParam() = postgresql").
void PrintTo(Engine engine, std::ostream* out);

class TestDatabase {
 public:
  explicit TestDatabase(Engine engine);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  // location is what db::Database::open takes: a file path or a postgresql:// URL. Empty when
  // the engine is not available (unavailable() says why).
  const std::string& location() const { return location_; }
  // unavailable: why this engine cannot be tested here ("" when it can).
  const std::string& unavailable() const { return unavailable_; }
  // scratch_dir: a temp directory of the test's own, for files beside the database.
  const std::string& scratch_dir() const { return dir_; }
  Engine engine() const { return engine_; }

 private:
  Engine engine_;
  std::string dir_, location_, unavailable_, pg_name_;
};

// BASTION_REQUIRE_ENGINE(test_database): ends the test (fails in CI, skips elsewhere, saying why)
// if the TestDatabase's engine cannot be tested here. For SetUp or a test body.
#define BASTION_REQUIRE_ENGINE(test_database)                                   \
  do {                                                                         \
    if (!(test_database).unavailable().empty()) {                              \
      if (::bastion::test_db::in_ci()) FAIL() << (test_database).unavailable(); \
      GTEST_SKIP() << (test_database).unavailable();                           \
    }                                                                          \
  } while (false)

bool in_ci();

// count_rows: SELECT count(*) FROM table WHERE where, read straight from the PostgreSQL database at
// url with libpq, not through the bastion's stores: what the programs wrote is really there (the
// e2e tests on PostgreSQL). Throws std::runtime_error if it cannot be read.
long long count_rows(const std::string& url, const std::string& table, const std::string& where = "TRUE");

}  // namespace bastion::test_db
