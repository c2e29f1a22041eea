#include "tests/e2e/harness/db_lock.h"

#include <filesystem>

#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/util.h"

namespace bastion::e2e {
namespace {

std::string read_file_or_empty(const std::string& path) {
  return std::filesystem::exists(path) ? read_file(path) : std::string();
}

}  // namespace

LockHolder::LockHolder(const Bastion& b, const std::string& dir, int seconds)
    : out_(dir + "/sqlite3.out"),
      proc_(SpawnOptions{{"sh", "-c",
                          "{ echo 'BEGIN EXCLUSIVE;'; echo \"SELECT 'locked';\"; sleep " + std::to_string(seconds) +
                              "; echo 'COMMIT;'; echo \"SELECT 'released';\"; } | sqlite3 " + b.db()},
                         base_env(), std::nullopt, "", out_, out_, ""}) {
  using namespace std::chrono_literals;
  if (!wait_until([&] { return read_file_or_empty(out_).find("locked") != std::string::npos; }, 10s))
    throw HarnessError("sqlite3 did not take the lock: " + read_file_or_empty(out_));
  held_since_ = std::chrono::steady_clock::now();
}

bool LockHolder::wait_released(std::chrono::milliseconds timeout) {
  auto st = proc_.wait(timeout);
  return st && st->exit_code() == 0 && read_file_or_empty(out_).find("released") != std::string::npos;
}

std::string sqlite_value(const Bastion& b, const std::string& query) {
  RunResult r = run({"sqlite3", b.db(), query});
  if (r.exit() != 0) throw HarnessError("sqlite3 failed: " + r.describe());
  std::string v = r.out;
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
  return v;
}

}  // namespace bastion::e2e
