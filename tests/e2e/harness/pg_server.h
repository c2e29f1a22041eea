#pragma once
// PgServer: a throw-away PostgreSQL server of one test's own (tests/pg-test-server, a socket in its
// directory, no TCP port), which the test may halt and resume (a database outage). Without
// PostgreSQL installed, available() is false and why() says so: the test fails in CI (CI=true) and
// is skipped elsewhere (BASTION_REQUIRE_PG).
#include <string>

namespace bastion::e2e {

class PgServer {
 public:
  // state_file: where tests/pg-test-server keeps the server's directory (in the test's temp dir).
  explicit PgServer(std::string state_file);
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  bool available() const { return !socket_dir_.empty(); }
  const std::string& why() const { return why_; }
  // url: the database bastion_tests as the postgres superuser, over the server's socket.
  std::string url() const;
  // halt stops the server (its data kept); resume starts it again. Both throw HarnessError on failure.
  void halt();
  void resume();

 private:
  std::string state_, socket_dir_, why_;
};

// in_ci: the environment has CI=true (a missing PostgreSQL is then a failure, not a skip).
bool in_ci();

#define BASTION_REQUIRE_PG(server)                                     \
  do {                                                                 \
    if (!(server).available()) {                                       \
      if (::bastion::e2e::in_ci()) FAIL() << (server).why();           \
      GTEST_SKIP() << (server).why();                                  \
    }                                                                  \
  } while (false)

}  // namespace bastion::e2e
