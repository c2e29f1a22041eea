#include "tests/e2e/harness/pg_server.h"

#include <cstdlib>

#include "tests/e2e/harness/process.h"
#include "tests/e2e/harness/util.h"

#ifndef BASTION_PG_TEST_SERVER
#error "BASTION_PG_TEST_SERVER must be defined (tests/e2e/CMakeLists.txt)"
#endif

namespace bastion::e2e {
namespace {

RunResult script(const std::string& action, const std::string& state) {
  return run({BASTION_PG_TEST_SERVER, action, state}, base_env(), std::nullopt, std::chrono::seconds(60));
}

}  // namespace

bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

PgServer::PgServer(std::string state_file) : state_(std::move(state_file)) {
  RunResult r = script("start", state_);
  if (r.exit() != 0) {
    why_ = "tests/pg-test-server start failed: " + r.describe();
    return;
  }
  if (file_exists(state_)) socket_dir_ = trim(read_file(state_));
  if (socket_dir_.empty())
    why_ = "no PostgreSQL server for this test: PostgreSQL is not installed (install the postgresql package: "
           "scripts/install-deps)\n" + r.err;
}

PgServer::~PgServer() {
  if (available()) (void)script("stop", state_);
}

std::string PgServer::url() const {
  return "postgresql:///bastion_tests?host=" + socket_dir_ + "&user=postgres";
}

void PgServer::halt() {
  RunResult r = script("halt", state_);
  if (r.exit() != 0) throw HarnessError("tests/pg-test-server halt failed: " + r.describe());
}

void PgServer::resume() {
  RunResult r = script("resume", state_);
  if (r.exit() != 0) throw HarnessError("tests/pg-test-server resume failed: " + r.describe());
}

}  // namespace bastion::e2e
