// bastiond and bastionctl on PostgreSQL (README, "Database: SQLite or PostgreSQL"): a session's
// whole path — a login with key and TOTP, an exec through a grant, its row, recording and chained
// events, `sessions list`, `sessions play`, `audit verify`, a client export, a client's shred and a
// retention purge — with `--db postgresql://…` (a schema of its own on the test server,
// tests/pg-test-server, the ctest fixture pg_server), and no SQLite file anywhere.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <filesystem>
#include <memory>

#include "tests/db/test_database.h"
#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

// count_rows: SELECT count(*) FROM table WHERE where, read straight from the PostgreSQL schema at
// url with libpq, not through the bastion: what the programs wrote is really there.
long long count_rows(const std::string& url, const std::string& table, const std::string& where = "TRUE") {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(url.c_str()), &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) throw HarnessError("PostgreSQL: " + std::string(PQerrorMessage(conn.get())));
  const std::string sql = "SELECT count(*) FROM " + table + " WHERE " + where;
  std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(conn.get(), sql.c_str()), &PQclear);
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK)
    throw HarnessError(sql + ": " + std::string(PQresultErrorMessage(r.get())));
  return std::stoll(PQgetvalue(r.get(), 0, 0));
}

TEST(Postgres, ALoginItsEvidenceItsReviewAndItsRetentionAllRunOnPostgresql) {
  test_db::TestDatabase database(test_db::Engine::Postgres);
  BASTION_REQUIRE_ENGINE(database);
  TestEnv env(database.location(), [](Bastion& b) { b.use_test_clock(); });

  // A login (key, then a TOTP code from oathtool) and an exec through the grant.
  OperatorIdentity op = env.new_operator("op");
  RunResult r = run_as(op, op.ssh(op.user(env.login(), "web1"), {"echo through-postgresql-$((6*7))"}));
  ASSERT_EQ(r.exit(), 0) << diag(env, r);
  EXPECT_TRUE(mentions(r.out, "through-postgresql-42")) << r.describe();
  EXPECT_FALSE(std::filesystem::exists(env.bastion.dir() + "/bastion.db")) << "no SQLite file was made";

  // sessions list: the session, closed once its closing writes committed.
  ASSERT_TRUE(wait_until([&] {
    const auto rows = sessions_of(env.bastion, op.name());
    return rows.size() == 1 && !rows[0]["end"].is_null();
  }, 10s)) << env.bastion.log();
  const auto session = sessions_of(env.bastion, op.name())[0];
  EXPECT_EQ(session["status"], "closed") << session.dump();
  EXPECT_EQ(session["client"], "acme") << session.dump();
  const std::string id = std::to_string(session["id"].get<std::int64_t>());
  EXPECT_EQ(count_rows(database.location(), "sessions", "id = " + id), 1);
  EXPECT_EQ(count_rows(database.location(), "recordings", "session_id = " + id), 1);
  EXPECT_GE(count_rows(database.location(), "events", "session_id = " + id), 2) << "session.start and session.end";

  // sessions play: the recording, decrypted under the client's data key read from PostgreSQL.
  RunResult play = env.bastion.ctl({"sessions", "play", id, "--raw"});
  ASSERT_EQ(play.exit(), 0) << play.describe();
  EXPECT_TRUE(mentions(play.out, "through-postgresql-42")) << play.describe();

  RunResult verified = env.bastion.ctl({"audit", "verify"});
  ASSERT_EQ(verified.exit(), 0) << verified.describe();
  EXPECT_TRUE(mentions(verified.out, "intact")) << verified.describe();

  // A client export: its sessions, recordings and events, from PostgreSQL.
  const std::string archive = env.scratch("export") + "/acme.tar.gz";
  env.bastion.ctl_ok({"export", "--client", "acme", "--out", archive});
  RunResult listed = run({"tar", "tzf", archive}, base_env(), std::nullopt, 30s);
  ASSERT_EQ(listed.exit(), 0) << listed.describe();
  EXPECT_TRUE(mentions(listed.out, "sessions")) << listed.out;

  // The client's shred: its data key erased in PostgreSQL, so the recording no longer opens.
  // ("log_scrubbed" may be false: a test of another binary may hold an older snapshot.)
  const auto shred = env.bastion.ctl_json({"client", "shred", "acme", "--confirm"});
  EXPECT_TRUE(shred["log_scrubbed"].is_boolean()) << shred.dump();
  EXPECT_EQ(count_rows(database.location(), "client_data_keys", "client = 'acme' AND wrapped IS NULL"), 1);
  RunResult shredded = env.bastion.ctl({"sessions", "play", id, "--raw"});
  EXPECT_NE(shredded.exit(), 0) << shredded.describe();
  EXPECT_TRUE(mentions(shredded.out + shredded.err, "was destroyed")) << shredded.describe();

  // Retention: two days later, a one-day recording retention purges the recording (row and file),
  // and the chain, anchored by the purge event, still verifies.
  env.bastion.shift_clock(std::chrono::hours(48));
  env.bastion.ctl_ok({"client", "set", "acme", "--recording-retention-days", "1"});
  const auto purged = env.bastion.ctl_json({"purge", "--recordings-dir", env.bastion.state_dir() + "/recordings"});
  ASSERT_EQ(purged["recordings"].size(), 1u) << purged.dump();
  EXPECT_FALSE(std::filesystem::exists(purged["recordings"][0]["path"].get<std::string>()));
  EXPECT_EQ(count_rows(database.location(), "recordings", "session_id = " + id), 0);
  const std::string purge_event = std::to_string(purged["purge_event_id"].get<std::int64_t>());
  EXPECT_EQ(count_rows(database.location(), "events", "kind = 'retention.purge' AND id = " + purge_event), 1);
  RunResult after_purge = env.bastion.ctl({"audit", "verify"});
  EXPECT_EQ(after_purge.exit(), 0) << after_purge.describe();
}

}  // namespace
}  // namespace bastion::e2e
