#pragma once
// AuditFixture: a fresh database with two clients (acme: server web1; globex: server db1),
// sessions with real recording files and their chained events, events appended through the real
// event log, and raw SQL for the tamper tests.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "audit/session_closing.h"
#include "audit/sha256.h"
#include "audit/sqlite_event_log.h"
#include "audit/sqlite_session_store.h"
#include "authz/db.h"
#include "tests/audit/test_util.h"
#include "tests/db/test_database.h"

namespace bastion::audit::testing {

inline const Seconds kNow = from_unix(1795428000);  // 2026-11-23 10:00:00 UTC
constexpr std::int64_t kDay = 86400;

class AuditFixture : public ::testing::Test {
 protected:
  // engine: the engine of the test's database. SQLite (the file dir_/bastion.db) unless a suite run
  // on both engines overrides it with its parameter (AuditFixtureOnEngines).
  virtual test_db::Engine engine() const { return test_db::Engine::Sqlite; }

  void SetUp() override {
    if (engine() == test_db::Engine::Sqlite) {
      location_ = dir_ / "bastion.db";
    } else {
      test_database_ = std::make_unique<test_db::TestDatabase>(engine());
      BASTION_REQUIRE_ENGINE(*test_database_);
      location_ = test_database_->location();
    }
    auto opened = db::Database::open(location_, true);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    db_ = *opened;
    recordings_dir_ = dir_ / "recordings";
    std::filesystem::create_directories(recordings_dir_);
    add_server("acme", "web1");
    add_server("globex", "db1");
    log_ = std::make_unique<SqliteEventLog>(db_, quiet_sinks());
  }

  void sql(const std::string& text) { db_->exec(text); }

  // foreign_keys_off: the next statements may break foreign keys, as the sqlite3 shell lets anyone
  // by default (SQLite), or a superuser of PostgreSQL (replica mode fires no trigger, hence checks
  // no foreign key): the tamper tests' attacker.
  void foreign_keys_off() {
    sql(db_->is_postgres() ? "SET session_replication_role = replica" : "PRAGMA foreign_keys = OFF");
  }

  void add_server(const std::string& client, const std::string& server) {
    sql("INSERT INTO clients(name) VALUES ('" + client + "') ON CONFLICT DO NOTHING");
    sql("INSERT INTO servers(name, host, port, client, kind, host_key, created_at) VALUES ('" + server +
        "', '10.0.0.5', 22, '" + client + "', 'dedicated', 'ssh-ed25519 AAAA', 0)");
  }

  // add_session records a closed session of `client` on `server` that started `age_days` before kNow,
  // as the gateway does: its row, a chained session.start stating its facts, and its closing
  // writes (audit/session_closing.h) ending it a minute later. Two events.
  std::int64_t add_session(const std::string& server, const std::string& client, std::int64_t age_days) {
    SqliteSessionStore store(db_);
    const Seconds start = kNow - std::chrono::seconds(age_days * kDay);
    auto id = store.start({"alice", server, "root", std::nullopt, client, "203.0.113.7:51234", start, 42});
    EXPECT_TRUE(id.ok());
    const nlohmann::json facts = {
        {"login", "root"}, {"grant", nullptr}, {"client", client}, {"started_at", to_unix(start)}};
    EXPECT_TRUE(log_->append({start, "session.start", "alice", "203.0.113.7:51234", server, *id, facts}).ok());
    const ClosingWrites closing{*id, 0, start, start + std::chrono::seconds(60), 0, "closed", "", std::nullopt, "",
                                "alice", "203.0.113.7:51234", server};
    EXPECT_TRUE(apply_closing(db_, closing, quiet_sinks(), closing.ended_at).ok());
    return *id;
  }

  // add_recording writes `content` as the session's channel-0 recording, records its row, and
  // appends the chained event that states its digest (one event).
  std::string add_recording(std::int64_t session, const std::string& content, const std::string& kind = "asciicast") {
    SqliteSessionStore store(db_);
    const auto row = store.find(session);
    const std::string folder = recordings_dir_ + "/" + std::to_string(session);
    std::filesystem::create_directories(folder);
    const std::string path = folder + (kind == "exec" ? "/0-exec.rec" : "/0-pty.cast");
    std::ofstream(path, std::ios::binary) << content;
    RecordingSummary summary{path, kind, sha256_hex(content), 10, content.size()};
    EXPECT_TRUE(store.add_recording(session, 0, summary, row->start, *row->end).ok());
    const nlohmann::json stated = {{"recording", {{"path", path}, {"sha256", summary.sha256}, {"kind", kind}}}};
    EXPECT_TRUE(log_->append({*row->end, "session.end", "alice", row->source, row->server, session, stated}).ok());
    return path;
  }

  static EventSinks quiet_sinks() {
    EventSinks quiet;
    quiet.auth_failure_lines = false;
    return quiet;
  }

  StoredEvent add_event(const std::string& kind, const std::string& server, std::int64_t age_days,
                        std::optional<std::int64_t> session = std::nullopt) {
    Event e{kNow - std::chrono::seconds(age_days * kDay), kind, "alice", "203.0.113.7:51234", server, session,
            {{"n", age_days}}};
    auto stored = log_->append_stored(e);
    EXPECT_TRUE(stored.ok()) << stored.error().message;
    return *stored;
  }

  std::int64_t count(const std::string& table, const std::string& where = "TRUE") {
    auto q = db_->prepare("SELECT count(*) FROM " + table + " WHERE " + where);
    q.step();
    return q.col_int(0);
  }

  TempDir dir_;
  std::unique_ptr<test_db::TestDatabase> test_database_;  // PostgreSQL only; outlives db_
  std::string location_;                                   // what db::Database::open was given
  db::DatabasePtr db_;
  std::string recordings_dir_;
  std::unique_ptr<SqliteEventLog> log_;
};

// AuditFixtureOnEngines: AuditFixture for a suite whose same cases run against SQLite and
// PostgreSQL: INSTANTIATE_TEST_SUITE_P(Engines, Suite, test_db::kEngines, test_db::engine_name).
class AuditFixtureOnEngines : public AuditFixture, public ::testing::WithParamInterface<test_db::Engine> {
 protected:
  test_db::Engine engine() const override { return GetParam(); }
};

inline const std::string kCast =
    "{\"version\": 2, \"width\": 80, \"height\": 24, \"timestamp\": 1795428000, \"env\": {\"TERM\": \"xterm\", "
    "\"SHELL\": \"\"}}\n[0.100000, \"o\", \"$ \"]\n[0.500000, \"i\", \"ls\\r\"]\n[0.600000, \"o\", \"ls\\r\\nfile\\r\\n\"]\n";

}  // namespace bastion::audit::testing
