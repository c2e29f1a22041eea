#include "tests/db/test_database.h"

#include <libpq-fe.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>

namespace bastion::test_db {
namespace {

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// run_script runs tests/pg-test-server ACTION STATE, its output going to the test's own.
bool run_script(const std::string& action, const std::string& state) {
  const std::string command = std::string("'") + BASTION_PG_TEST_SERVER + "' " + action + " '" + state + "'";
  const int rc = std::system(command.c_str());
  return rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}

// PgServer: the binary's server. Under ctest the fixture started it (BASTION_TEST_PG_STATE);
// otherwise the first PostgreSQL case starts one and the environment below stops it.
class PgServer {
 public:
  // socket_dir returns the server's socket directory, or "" with why set.
  std::string socket_dir(std::string& why) {
    if (!started_) start();
    why = why_;
    return socket_dir_;
  }
  void stop() {
    if (own_state_.empty()) return;
    run_script("stop", own_state_);
    own_state_.clear();
  }

 private:
  void start() {
    started_ = true;
    std::string state;
    if (const char* given = std::getenv("BASTION_TEST_PG_STATE"); given != nullptr && *given != '\0') {
      state = given;
    } else {
      own_state_ = (std::filesystem::temp_directory_path() / ("bastion-pg-state-" + std::to_string(getpid()))).string();
      state = own_state_;
      if (!run_script("start", state)) {
        why_ = "the test PostgreSQL server did not start (tests/pg-test-server said why above)";
        return;
      }
    }
    socket_dir_ = read_first_line(state);
    if (socket_dir_.empty()) {
      why_ = "no test PostgreSQL server: PostgreSQL is not installed (install the postgresql package: "
             "scripts/install-deps), or the ctest fixture pg_server failed (see its output)";
    }
  }
  bool started_ = false;
  std::string own_state_, socket_dir_, why_;
};

PgServer& pg_server() {
  static PgServer server;
  return server;
}

class PgEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { pg_server().stop(); }
};
[[maybe_unused]] const auto* const kPgEnvironment = ::testing::AddGlobalTestEnvironment(new PgEnvironment);

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};

// Every test has a schema of its own in the database kDatabase (a schema costs nothing to create;
// a database per test would be a copy of template0 each time). The search_path puts its tables first.
constexpr const char* kDatabase = "bastion_tests";

std::string url_of(const std::string& socket_dir, const std::string& schema) {
  std::string url = std::string("postgresql:///") + kDatabase + "?host=" + socket_dir + "&user=postgres";
  if (!schema.empty()) url += "&options=-c%20search_path%3D" + schema;
  return url;
}

// admin runs one statement on kDatabase; returns the error, "" if none.
std::string admin(const std::string& socket_dir, const std::string& sql) {
  std::unique_ptr<PGconn, ConnCloser> conn(PQconnectdb(url_of(socket_dir, "").c_str()));
  if (PQstatus(conn.get()) != CONNECTION_OK) return PQerrorMessage(conn.get());
  PQsetNoticeProcessor(conn.get(), [](void*, const char*) {}, nullptr);  // DROP … CASCADE lists all
  PGresult* r = PQexec(conn.get(), sql.c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  std::string why = ok ? "" : PQresultErrorMessage(r);
  PQclear(r);
  return why;
}

}  // namespace

long long count_rows(const std::string& url, const std::string& table, const std::string& where) {
  std::unique_ptr<PGconn, ConnCloser> conn(PQconnectdb(url.c_str()));
  if (PQstatus(conn.get()) != CONNECTION_OK)
    throw std::runtime_error("PostgreSQL: " + std::string(PQerrorMessage(conn.get())));
  const std::string sql = "SELECT count(*) FROM " + table + " WHERE " + where;
  std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(conn.get(), sql.c_str()), &PQclear);
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK)
    throw std::runtime_error(sql + ": " + std::string(PQresultErrorMessage(r.get())));
  return std::stoll(PQgetvalue(r.get(), 0, 0));
}

bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

std::string engine_name(const ::testing::TestParamInfo<Engine>& info) {
  return info.param == Engine::Sqlite ? "sqlite" : "postgresql";
}

void PrintTo(Engine engine, std::ostream* out) { *out << (engine == Engine::Sqlite ? "sqlite" : "postgresql"); }

TestDatabase::TestDatabase(Engine engine) : engine_(engine) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "bastion-db-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    unavailable_ = "cannot create a temp directory";
    return;
  }
  dir_ = tmpl;
  if (engine == Engine::Sqlite) {
    location_ = dir_ + "/bastion.db";
    return;
  }
  std::string why;
  const std::string socket_dir = pg_server().socket_dir(why);
  if (socket_dir.empty()) {
    unavailable_ = why;
    return;
  }
  static std::atomic<int> counter{0};
  pg_name_ = "bastion_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
  if (auto err = admin(socket_dir, "CREATE SCHEMA " + pg_name_); !err.empty()) {
    unavailable_ = "CREATE SCHEMA on the test PostgreSQL server failed: " + err;
    return;
  }
  location_ = url_of(socket_dir, pg_name_);
}

TestDatabase::~TestDatabase() {
  if (!pg_name_.empty()) {
    std::string why;
    const std::string socket_dir = pg_server().socket_dir(why);
    if (!socket_dir.empty()) admin(socket_dir, "DROP SCHEMA IF EXISTS " + pg_name_ + " CASCADE");
  }
  if (!dir_.empty()) std::filesystem::remove_all(dir_);
}

}  // namespace bastion::test_db
