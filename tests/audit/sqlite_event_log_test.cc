#include "audit/sqlite_event_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "audit/event_chain.h"
#include "audit/fd_io.h"
#include "audit/verify.h"
#include "tests/audit/audit_fixture.h"

namespace bastion::audit {
namespace {

using ::testing::HasSubstr;
using testing::AuditFixtureOnEngines;
using testing::kNow;

// The same cases run against SQLite and PostgreSQL (tests/db/test_database.h).
class SqliteEventLogTest : public AuditFixtureOnEngines {};
INSTANTIATE_TEST_SUITE_P(Engines, SqliteEventLogTest, test_db::kEngines, test_db::engine_name);

TEST_P(SqliteEventLogTest, ChainsEachEventToThePreviousOne) {
  const auto a = add_event("auth.success", "", 0);
  const auto b = add_event("session.start", "web1", 0);
  const auto c = add_event("session.end", "web1", 0);
  EXPECT_EQ(a.prev_hash, "");
  EXPECT_EQ(b.prev_hash, a.hash);
  EXPECT_EQ(c.prev_hash, b.hash);
  EXPECT_EQ(c.id, a.id + 2);
  const auto listed = list_events(*db_, {});
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[1].hash, b.hash);
  EXPECT_EQ(listed[1].event.server, "web1");
}

TEST_P(SqliteEventLogTest, HashIsSha256OfTheDocumentedCanonicalForm) {
  Event e{kNow, "auth.failure", "alice", "203.0.113.7:51234", "", std::nullopt,
          {{"reason", "bad code"}, {"method", "keyboard-interactive"}}};
  auto stored = log_->append_stored(e);
  ASSERT_TRUE(stored.ok());
  const std::string expected =
      R"(["bastion.event.v1","",1,1795428000,"auth.failure","alice","203.0.113.7:51234","",null,)"
      R"({"method":"keyboard-interactive","reason":"bad code"}])";
  EXPECT_EQ(canonical_event(1, "", stored->event), expected);
  EXPECT_EQ(stored->hash, sha256_hex(expected));
}

TEST_P(SqliteEventLogTest, StoresIllFormedUtf8AsReplacementCharacters) {
  Event e{kNow, "auth.failure", std::string("mal\xff", 4), "203.0.113.7:1", "", std::nullopt,
          {{"user", std::string("x\xc3", 2)}}};
  ASSERT_TRUE(log_->append(e).ok());
  const auto listed = list_events(*db_, {});
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].event.actor, "mal\xEF\xBF\xBD");
  EXPECT_EQ(listed[0].event.details["user"], "x\xEF\xBF\xBD");
  EXPECT_TRUE(verify_audit(*db_).intact());
}

TEST_P(SqliteEventLogTest, AppendsOneJsonLinePerEventToAPrivateFile) {
  EventSinks sinks;
  sinks.json_lines_path = dir_ / "events.jsonl";
  sinks.auth_failure_lines = false;
  SqliteEventLog log(db_, sinks);
  ASSERT_TRUE(log.append({kNow, "session.start", "alice", "", "web1", std::nullopt, {}}).ok());
  ASSERT_TRUE(log.append({kNow, "session.end", "alice", "", "web1", std::nullopt, {{"exit", 0}}}).ok());
  auto text = read_file(sinks.json_lines_path);
  ASSERT_TRUE(text.ok());
  std::istringstream lines(*text);
  std::string line;
  std::vector<nlohmann::json> parsed;
  while (std::getline(lines, line)) parsed.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[1]["kind"], "session.end");
  EXPECT_EQ(parsed[1]["prev_hash"], parsed[0]["hash"]);
  struct stat st {};
  ASSERT_EQ(::stat(sinks.json_lines_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_P(SqliteEventLogTest, SinkFailureIsAnErrorButTheRowIsKept) {
  EventSinks sinks;
  sinks.json_lines_path = dir_ / "no-such-dir/events.jsonl";
  SqliteEventLog log(db_, sinks);
  const auto st = log.append({kNow, "session.start", "alice", "", "web1", std::nullopt, {}});
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.error().message, HasSubstr("is in the database, but cannot open the audit JSON lines file"));
  EXPECT_EQ(count("events"), 1);
}

TEST(Fail2banLine, SpeaksOpenSshAndNeutralisesInjectedNames) {
  Event e{kNow, "auth.failure", "alice", "203.0.113.7:51234", "", std::nullopt, {{"method", "keyboard-interactive"}}};
  EXPECT_EQ(fail2ban_line(e), "Failed keyboard-interactive/pam for alice from 203.0.113.7 port 51234 ssh2");
  e.actor = "x from 198.51.100.1";
  e.details = {{"method", "publickey"}, {"invalid_user", true}};
  e.source = "[2001:db8::7]:2222";
  EXPECT_EQ(fail2ban_line(e), "Failed publickey for invalid user x?from?198.51.100.1 from 2001:db8::7 port 2222 ssh2");
  e.kind = "auth.success";
  EXPECT_FALSE(fail2ban_line(e).has_value());
}

TEST_P(SqliteEventLogTest, AuthFailureLineIsMatchedByFail2bansStockSshdFilter) {
  if (!testing::have_command("fail2ban-regex")) GTEST_SKIP() << "fail2ban-regex is not installed";
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  EventSinks sinks;
  sinks.auth_failure_logger = std::make_shared<spdlog::logger>("test-auth", sink);
  sinks.auth_failure_logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ bastiond[%P]: %v", spdlog::pattern_time_type::utc);
  SqliteEventLog log(db_, sinks);
  for (const char* user : {"alice", "mallory"}) {
    ASSERT_TRUE(log.append({kNow, "auth.failure", user, "203.0.113.7:51234", "", std::nullopt,
                            {{"method", "keyboard-interactive"}}})
                    .ok());
  }
  const std::string file = dir_ / "bastiond.log";
  std::ofstream(file) << captured.str();
  const auto out = testing::run_command("fail2ban-regex " + file + " 'sshd[_daemon=bastiond]' 2>&1");
  ASSERT_TRUE(out.has_value());
  EXPECT_THAT(*out, HasSubstr("Lines: 2 lines, 0 ignored, 2 matched, 0 missed")) << *out;
}

TEST_P(SqliteEventLogTest, ListsByKindPrefixClientAndLimit) {
  add_event("auth.failure", "", 3);
  add_event("authx.other", "", 3);
  add_event("session.start", "web1", 2);
  add_event("session.start", "db1", 1);
  add_event("session.end", "web1", 0);
  EventFilter auth;
  auth.kind = "auth";
  ASSERT_EQ(list_events(*db_, auth).size(), 1u);
  EventFilter acme;
  acme.client = "acme";
  const auto of_acme = list_events(*db_, acme);
  ASSERT_EQ(of_acme.size(), 2u);
  EXPECT_EQ(of_acme[0].event.kind, "session.start");
  EXPECT_EQ(of_acme[1].event.kind, "session.end");
  EventFilter last_two;
  last_two.limit = 2;
  const auto latest = list_events(*db_, last_two);
  ASSERT_EQ(latest.size(), 2u);
  EXPECT_LT(latest[0].id, latest[1].id);
  EXPECT_EQ(latest[1].event.kind, "session.end");
  EventFilter since;
  since.since = kNow - std::chrono::days(1);
  EXPECT_EQ(list_events(*db_, since).size(), 2u);
}

// Two processes, each with its own connection, append 200 events each at the same time.
TEST_P(SqliteEventLogTest, ConcurrentAppendersFromTwoProcessesKeepOneChain) {
  const std::string path = location_;
  std::vector<pid_t> children;
  for (int c = 0; c < 2; ++c) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto db = db::Database::open(path, false);
      if (!db) ::_exit(2);
      EventSinks quiet;
      quiet.auth_failure_lines = false;
      SqliteEventLog log(*db, quiet);
      for (int i = 0; i < 200; ++i) {
        if (!log.append({kNow, "test.append", "child" + std::to_string(c), "", "", std::nullopt, {{"i", i}}})) ::_exit(1);
      }
      ::_exit(0);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child failed with status " << status;
  }
  const auto report = verify_audit(*db_);
  EXPECT_TRUE(report.intact()) << report.findings.front().message;
  EXPECT_EQ(report.events, 400);
}

}  // namespace
}  // namespace bastion::audit
