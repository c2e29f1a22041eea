// bastion-web on PostgreSQL (README, "Database: SQLite or PostgreSQL"): `--db postgresql://…` and
// `--key-dir`, as bastiond and bastionctl take them. bastiond records a session through the real
// sshd on a schema of its own on the run's test server (tests/pg-test-server, the ctest fixture
// pg_server); bastion-web serves it to Debian's chromium (postgres.cjs): a reviewer enrols, signs
// in with password and TOTP, opens the session, downloads and plays its recording, approves a
// request; what it did is then read back from PostgreSQL itself. And a portal whose PostgreSQL
// cannot be reached does not start, saying why; one whose PostgreSQL goes away while it runs
// answers with a page that says so, and serves again once it is back, without a restart. The
// pages' own rules are portal_browser_test.cc's.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/db/test_database.h"
#include "tests/e2e/harness/diagnostics.h"
#include "tests/e2e/harness/live.h"
#include "tests/e2e/harness/pg_server.h"
#include "tests/e2e/harness/test_env.h"
#include "tests/web/browser/web_daemon.h"

namespace bastion::e2e {
namespace {

using namespace std::chrono_literals;
using test_db::count_rows;

TEST(WebPortalOnPostgres, AReviewerSignsInReviewsARecordedSessionAndApprovesARequest) {
  ASSERT_EQ(browser_missing(), "");
  test_db::TestDatabase database(test_db::Engine::Postgres);
  BASTION_REQUIRE_ENGINE(database);
  const std::string& url = database.location();
  // The keys away from any database file: bastion-web finds the master key by --key-dir only.
  TestEnv env(url, nullptr);

  // A terminal session on acme's web1, recorded by bastiond into PostgreSQL.
  OperatorIdentity op = env.new_operator("op");
  RunResult pty = run_in_pty(op.ssh(op.user(env.login(), "web1"), {}, {"-t"}), op.env(),
                             "echo through-postgresql-$((6*7))\nexit\n", 100, 30, 60s);
  ASSERT_EQ(pty.exit(), 0) << diag(env, pty);
  ASSERT_TRUE(wait_until([&] { return count_rows(url, "sessions", "ended_at IS NOT NULL") == 1; }, 10s))
      << env.bastion.log();
  const std::int64_t session = last_session_on(env.bastion, "web1");
  EXPECT_FALSE(std::filesystem::exists(env.bastion.dir() + "/bastion.db")) << "no SQLite file was made";

  // A request on web1 that waits for acme's approval.
  env.bastion.ctl_ok({"client", "set-approvals", "acme", "client"});
  const std::int64_t request =
      env.bastion.ctl_json({"request", "add", "web1", "--login", env.login(), "--ops", "shell", "--for", "1h",
                            "--reason", "ticket 314", "--operator", op.name()})["id"].get<std::int64_t>();

  const std::string web_dir = env.tmp.sub("web", true);
  WebDaemon web(env.bastion, web_dir);
  const auto carol = env.bastion.ctl_json(
      {"operator", "add", "carol", "--role", "client", "--client", "acme", "--web", "--portal-url", web.url()});
  BrowserScript js_run("postgres.cjs", web.url());
  Env& js_env = js_run.env;
  js_env["ENROL_URL"] = carol["web_enrolment_url"].get<std::string>();
  js_env["ACCOUNT"] = "carol";
  js_env["TOTP_SECRET"] = carol["totp_secret"].get<std::string>();
  js_env["SESSION"] = std::to_string(session);
  js_env["REQUEST"] = std::to_string(request);
  RunResult js = js_run.run(120s);
  EXPECT_EQ(js.exit(), 0) << js.out << js.err << "\nbastion-web log:\n" << web.log();

  // What the portal wrote is in PostgreSQL: carol's password and web session, her sign-in and her
  // three readings of the recording (the download, the player page and the player's fetch of the cast) in the chain,
  // and her approval, with the grant it made.
  const std::string carol_id = "(SELECT id FROM operators WHERE name = 'carol')";
  EXPECT_EQ(count_rows(url, "web_passwords", "operator_id = " + carol_id), 1);
  EXPECT_GE(count_rows(url, "web_sessions", "operator_id = " + carol_id), 1);
  EXPECT_EQ(count_rows(url, "events", "kind = 'auth.success' AND actor = 'carol'"), 1);
  EXPECT_EQ(count_rows(url, "events", "kind = 'recording.viewed' AND actor = 'carol'"), 3);
  EXPECT_EQ(count_rows(url, "request_approvals", "request_id = " + std::to_string(request) + " AND approver = 'carol'"), 1);
  EXPECT_EQ(count_rows(url, "access_requests", "id = " + std::to_string(request) + " AND grant_id IS NOT NULL"), 1);
  RunResult verified = env.bastion.ctl({"audit", "verify"});
  EXPECT_EQ(verified.exit(), 0) << verified.describe();

  // A portal whose PostgreSQL cannot be reached does not start (fail closed), and says why.
  RunResult refused = run({BASTION_WEB_PATH, "--db", "postgresql://bastion@127.0.0.1:1/bastion", "--key-dir",
                           env.bastion.key_dir(), "--cert", web_dir + "/web.crt", "--key", web_dir + "/web.key", "--port", "0"},
                          base_env(), std::nullopt, 30s);
  EXPECT_EQ(refused.exit(), 1) << refused.describe();
  EXPECT_TRUE(mentions(refused.err, "bastion-web: the bastion's database \\(PostgreSQL\\) cannot be reached"))
      << refused.describe();
  EXPECT_EQ(refused.out.find("listening"), std::string::npos) << refused.describe();
}

// http_status: the status of a GET of url (curl, the portal's self-signed certificate accepted),
// its body in body_file.
std::string http_status(const std::string& url, const std::string& body_file) {
  RunResult r = run({"curl", "-sk", "-o", body_file, "-w", "%{http_code}", url}, base_env(), std::nullopt, 30s);
  return r.out;
}

// PostgreSQL out of reach while bastion-web runs (a server of this test's own, halted and resumed):
// a page needing the database is a 503 that says why, the log names no URL, and once the server is
// back the same bastion-web process serves again.
TEST(WebPortalOnPostgres, AnOutageIsAPageThatSaysSoAndThePortalRecoversWithoutARestart) {
  TempDir tmp;
  PgServer pg(tmp.sub("pg.state"));
  BASTION_REQUIRE_PG(pg);
  Bastion b(tmp.sub("bastion"), BASTIONCTL_PATH, BASTIOND_PATH);
  b.use_database(pg.url(), b.dir());
  b.init();
  WebDaemon web(b, tmp.sub("web", true));
  const std::string body = tmp.path() + "/body.html";

  // Up: the sessions page, read without a session, sends the browser to sign in.
  EXPECT_EQ(http_status(web.url() + "/sessions", body), "303") << read_all(body);
  pg.halt();
  EXPECT_EQ(http_status(web.url() + "/sessions", body), "503");
  EXPECT_TRUE(mentions(read_all(body), "The bastion database cannot be reached or read")) << read_all(body);
  pg.resume();
  EXPECT_EQ(http_status(web.url() + "/sessions", body), "303") << read_all(body);
  const std::string log = web.log();
  EXPECT_TRUE(mentions(log, "database on PostgreSQL: .*cannot be reached")) << log;
  EXPECT_EQ(log.find("postgresql://"), std::string::npos) << "the URL is in the log:\n" << log;
}

}  // namespace
}  // namespace bastion::e2e
