// Closing evidence is never lost (issue 13, point 6). Another process holding the database's write
// lock (stock `sqlite3` with BEGIN EXCLUSIVE, as a careless backup or an attacker would) across a
// session's end, or a session process killed outright while the database is held, must not cost
// the session's closing writes: its row ends, its recording row holds the file's true digest, the
// chain states that digest (session.end, or session.recovered saying how late), and `audit verify`
// finds everything intact once the lock is gone.
#include <signal.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <thread>

#include "tests/e2e/harness/db_lock.h"
#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

std::string sha256_of(const std::string& path) {
  RunResult r = run({"sha256sum", path});
  if (r.exit() != 0) throw HarnessError("sha256sum failed: " + r.describe());
  return r.out.substr(0, 64);
}

nlohmann::json row_of(const Bastion& b, const std::string& op, long long id) {
  for (auto& s : sessions_of(b, op))
    if (s["id"] == id) return s;
  return nullptr;
}

std::string only_recording(const Bastion& b, long long id) {
  for (const auto& e : std::filesystem::directory_iterator(b.state_dir() + "/recordings/" + std::to_string(id)))
    if (e.path().extension() == ".rec" || e.path().extension() == ".cast") return e.path().string();
  throw HarnessError("no recording of session " + std::to_string(id));
}

nlohmann::json closing_event(const Bastion& b, const std::string& kind, long long id) {
  for (auto& e : events_of_kind(b, kind))
    if (e["session_id"] == id) return e;
  return nullptr;
}

TEST(ClosingEvidence, DatabaseLockedAcrossASessionsEndLosesNothing) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("locked");
  LiveClient client(op.ssh(op.user(env.login(), "web1"), {"echo begin-$((6*7)); read line; echo done-$line"}),
                    op.env(), env.tmp.sub("client.in"));
  ASSERT_TRUE(client.wait_for_output("begin-42", 30s)) << diag(env, client.result());
  const long long id = sessions_of(env.bastion, op.name()).at(0)["id"].get<long long>();

  std::optional<LockHolder> lock;
  lock.emplace(env.bastion, env.tmp.path(), 30);
  client.type("ok\n");  // the session ends now, while sqlite3 holds the database
  auto ended = client.wait(20s);
  ASSERT_TRUE(ended.has_value()) << diag(env, client.result());
  EXPECT_EQ(ended->exit_code(), 0) << diag(env, client.result());
  EXPECT_NE(client.out().find("done-ok"), std::string::npos);

  // While the lock is held nothing could be written: the row is still live, and the closing writes
  // wait in memory and in the spool beside the recording.
  const std::string spool = env.bastion.state_dir() + "/recordings/" + std::to_string(id) + "/closing.spool";
  ASSERT_TRUE(wait_until([&] { return std::filesystem::exists(spool); }, 10s)) << env.bastion.log();
  EXPECT_EQ(row_of(env.bastion, op.name(), id)["status"], "live");
  EXPECT_EQ(sqlite_value(env.bastion, "SELECT count(*) FROM recordings WHERE session_id = " + std::to_string(id)), "0");

  ASSERT_TRUE(lock->wait_released(40s));
  EXPECT_GE(std::chrono::steady_clock::now() - lock->held_since(), 25s);

  // Once released: the row is closed, its recording row and its chained end hold the file's digest.
  ASSERT_TRUE(wait_until([&] { return row_of(env.bastion, op.name(), id)["status"] == "closed"; }, 20s))
      << row_of(env.bastion, op.name(), id).dump() << "\n" << env.bastion.log();
  const std::string file = only_recording(env.bastion, id);
  const std::string digest = sha256_of(file);
  EXPECT_EQ(sqlite_value(env.bastion, "SELECT sha256 FROM recordings WHERE session_id = " + std::to_string(id)),
            digest);
  const auto end = closing_event(env.bastion, "session.end", id);
  ASSERT_FALSE(end.is_null()) << env.bastion.ctl_ok({"audit", "list", "--kind", "session"}).out;
  EXPECT_EQ(end["details"]["recording"]["sha256"], digest);
  EXPECT_EQ(end["details"]["status"], "closed");
  EXPECT_FALSE(std::filesystem::exists(spool)) << "the spool goes once the database has its writes";
  RunResult verified = env.bastion.ctl({"audit", "verify"});
  EXPECT_EQ(verified.exit(), 0) << verified.describe();
  EXPECT_NE(verified.out.find("audit trail intact"), std::string::npos) << verified.describe();
}

TEST(ClosingEvidence, SessionProcessKilledWhileTheDatabaseIsHeldIsRecoveredByTheSweep) {
  TestEnv env;
  OperatorIdentity op = env.new_operator("killed");
  LiveClient victim(op.ssh(op.user(env.login(), "web1"), {}, {"-tt"}), op.env(), env.tmp.sub("victim.in"));
  victim.type("echo marker-$((40+2))\n");
  ASSERT_TRUE(victim.wait_for_output("marker-42", 30s)) << diag(env, victim.result());
  const auto row = sessions_of(env.bastion, op.name()).at(0);
  const long long id = row["id"].get<long long>();
  const int pid = row["pid"].get<int>();
  ASSERT_GT(pid, 1);
  const std::string cast = only_recording(env.bastion, id);
  ASSERT_TRUE(wait_until([&] { return env.bastion.recording_text(cast).find("marker-42") != std::string::npos; }, 10s));

  std::optional<LockHolder> lock;
  lock.emplace(env.bastion, env.tmp.path(), 25);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  ASSERT_TRUE(victim.wait(20s).has_value());
  // The listener reaped it but could not close the row: the database is held.
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(row_of(env.bastion, op.name(), id)["status"], "live");
  ASSERT_TRUE(lock->wait_released(40s));

  // The sweep (every 30 s) finds the row's process gone and closes it from its recording.
  nlohmann::json recovered;
  ASSERT_TRUE(wait_until([&] { return !(recovered = closing_event(env.bastion, "session.recovered", id)).is_null(); },
                         45s))
      << env.bastion.log();
  const auto closed = row_of(env.bastion, op.name(), id);
  EXPECT_EQ(closed["status"], "aborted") << closed.dump();
  const std::string digest = sha256_of(cast);
  EXPECT_EQ(recovered["details"]["recording"]["sha256"], digest);
  EXPECT_EQ(recovered["details"]["recovered_from"], "recordings");
  EXPECT_TRUE(mentions(recovered["details"]["why"].get<std::string>(), "recovery sweep")) << recovered.dump();
  EXPECT_EQ(recovered["details"]["pid"], pid);
  EXPECT_GE(recovered["details"]["late_seconds"].get<long long>(), 20) << recovered.dump();
  EXPECT_EQ(sqlite_value(env.bastion, "SELECT sha256 FROM recordings WHERE session_id = " + std::to_string(id)),
            digest);
  RunResult verified = env.bastion.ctl({"audit", "verify"});
  EXPECT_EQ(verified.exit(), 0) << verified.describe();
}

}  // namespace
}  // namespace bastion::e2e
