#pragma once
// db_lock: another process holding the bastion's database — stock `sqlite3` with BEGIN EXCLUSIVE,
// as a careless backup or an attacker would — and reads through stock sqlite3 beside the daemon.
#include <chrono>
#include <string>

#include "tests/e2e/harness/bastion.h"
#include "tests/e2e/harness/process.h"

namespace bastion::e2e {

// LockHolder: `sqlite3 DB` holding BEGIN EXCLUSIVE for `seconds`, then COMMIT. Constructed once the
// lock is really held (the shell printed "locked" after BEGIN). `dir` holds sqlite3's output.
class LockHolder {
 public:
  LockHolder(const Bastion& b, const std::string& dir, int seconds);
  // wait_released returns once sqlite3 has committed and exited.
  bool wait_released(std::chrono::milliseconds timeout);
  std::chrono::steady_clock::time_point held_since() const { return held_since_; }

 private:
  std::string out_;
  Process proc_;
  std::chrono::steady_clock::time_point held_since_;
};

// sqlite_value: one value from the database through stock sqlite3 (a read: WAL lets it pass a writer).
std::string sqlite_value(const Bastion& b, const std::string& query);

}  // namespace bastion::e2e
