// bastiond and bastionctl on PostgreSQL (README, "Database: SQLite or PostgreSQL"): a session's
// whole path — a login with key and TOTP, an exec through a grant, its row, recording and chained
// events, `sessions list`, `sessions play`, `audit verify`, a client export, a client's shred and a
// retention purge — with `--db postgresql://…` (a schema of its own on the test server,
// tests/pg-test-server, the ctest fixture pg_server), and no SQLite file anywhere; then the admin
// commands run over SSH by an officer and a client reviewer. (bastion-web on PostgreSQL:
// tests/web/browser/postgres_browser_test.cc.)
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "tests/db/test_database.h"
#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/test_env.h"

namespace bastion::e2e {
namespace {

using test_db::count_rows;

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

// The SSH front's admin commands on PostgreSQL: an officer and a client reviewer each log in over
// real ssh (key, then a TOTP code from oathtool) and run the command set through bastiond, which
// reads and writes the PostgreSQL schema: an officer's grant add and revoke and the console, a
// reviewer's sessions list, show and play of its client's session and its approval of a request.
TEST(Postgres, TheSshConsolesAdminCommandsRunOnPostgresql) {
  test_db::TestDatabase database(test_db::Engine::Postgres);
  BASTION_REQUIRE_ENGINE(database);
  const std::string& url = database.location();
  TestEnv env(url, nullptr);
  OperatorIdentity op = env.new_operator("op");
  RunResult r = run_as(op, op.ssh(op.user(env.login(), "web1"), {"echo console-on-postgresql-$((6*7))"}));
  ASSERT_EQ(r.exit(), 0) << diag(env, r);
  ASSERT_TRUE(wait_until([&] { return count_rows(url, "sessions", "ended_at IS NOT NULL") == 1; }, 10s))
      << env.bastion.log();
  const std::string session = std::to_string(sessions_of(env.bastion, op.name())[0]["id"].get<std::int64_t>());

  // The officer: grant add and revoke over one login, each an admin event with its source address.
  OperatorIdentity boss = env.bastion.add_operator("boss", {"--role", "officer"});
  boss.set_port(env.bastion.port());
  Multiplexed officer(boss, env.tmp.path() + "/cm-boss");
  RunResult added = officer.run({"grant", "add", "--operator", op.name(), "--server", "web1", "--login", env.login(),
                                 "--ops", "shell", "--for", "1h", "--reason", "ticket-271", "--json"});
  ASSERT_EQ(added.exit(), 0) << diag(env, added);
  nlohmann::json grant = nlohmann::json::parse(added.out, nullptr, false);
  if (!grant.is_discarded() && grant.contains("grant")) grant = grant["grant"];
  ASSERT_TRUE(!grant.is_discarded() && grant.contains("id")) << added.out;
  const std::string grant_id = std::to_string(grant["id"].get<std::int64_t>());
  EXPECT_EQ(count_rows(url, "grants", "id = " + grant_id + " AND reason = 'ticket-271' AND granted_by = 'boss'"), 1);
  RunResult revoked = officer.run({"grant", "revoke", grant_id});
  ASSERT_EQ(revoked.exit(), 0) << diag(env, revoked);
  EXPECT_EQ(count_rows(url, "grants", "id = " + grant_id + " AND revoked_at IS NOT NULL"), 1);
  EXPECT_EQ(count_rows(url, "events", "actor = 'boss' AND kind IN ('admin.grant.add', 'admin.grant.revoke') AND "
                                      "source LIKE '127.0.0.1:%'"),
            2);
  // The console (a terminal, no command): lines read from PostgreSQL, and never a shell.
  RunResult console = officer.run({}, std::string("sessions list --json\nsh\nexit\n"), {"-tt"});
  EXPECT_EQ(console.exit(), 0) << diag(env, console);
  EXPECT_TRUE(mentions(console.out, "\"id\": *" + session + "[^0-9]")) << diag(env, console);
  EXPECT_TRUE(mentions(console.out, "unknown command 'sh'")) << diag(env, console);

  // The client reviewer: acme's session listed, shown and played (decrypted under acme's data key,
  // read from PostgreSQL), and a request waiting for acme approved.
  env.bastion.ctl_ok({"client", "set-approvals", "acme", "client"});
  const std::string request = std::to_string(
      env.bastion.ctl_json({"request", "add", "web1", "--login", env.login(), "--ops", "shell", "--for", "1h",
                            "--reason", "ticket 272", "--operator", op.name()})["id"].get<std::int64_t>());
  OperatorIdentity carol = env.bastion.add_operator("carol", {"--role", "client", "--client", "acme"});
  carol.set_port(env.bastion.port());
  Multiplexed reviewer(carol, env.tmp.path() + "/cm-carol");
  RunResult listed = reviewer.run({"sessions", "list", "--json"});
  ASSERT_EQ(listed.exit(), 0) << diag(env, listed);
  EXPECT_TRUE(mentions(listed.out, "\"id\": *" + session + "[^0-9]")) << listed.out;
  RunResult shown = reviewer.run({"sessions", "show", session, "--json"});
  ASSERT_EQ(shown.exit(), 0) << diag(env, shown);
  EXPECT_TRUE(mentions(shown.out, "web1")) << shown.out;
  RunResult played = reviewer.run({"sessions", "play", session, "--raw"});
  ASSERT_EQ(played.exit(), 0) << diag(env, played);
  EXPECT_TRUE(mentions(played.out, "console-on-postgresql-42")) << diag(env, played);
  RunResult approved = reviewer.run({"request", "approve", request});
  ASSERT_EQ(approved.exit(), 0) << diag(env, approved);
  EXPECT_EQ(count_rows(url, "request_approvals", "request_id = " + request + " AND approver = 'carol'"), 1);
  EXPECT_EQ(count_rows(url, "access_requests", "id = " + request + " AND status = 'approved'"), 1);
  EXPECT_EQ(count_rows(url, "events", "kind = 'request.approve' AND actor = 'carol' AND source LIKE '127.0.0.1:%'"), 1);
  RunResult verified = env.bastion.ctl({"audit", "verify"});
  EXPECT_EQ(verified.exit(), 0) << verified.describe();
}

}  // namespace
}  // namespace bastion::e2e
