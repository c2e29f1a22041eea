// Tests for audit/sqlite_session_store.cc against a real SQLite database in a temp dir and a real
// PostgreSQL database (the same cases: tests/db/test_database.h).
#include "audit/sqlite_session_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "authz/db.h"
#include "authz/sqlite_store.h"
#include "tests/audit/test_util.h"
#include "tests/db/test_database.h"

namespace bastion::audit {
namespace {


class SqliteSessionStoreTest : public ::testing::TestWithParam<test_db::Engine> {
 protected:
  void SetUp() override {
    BASTION_REQUIRE_ENGINE(test_database_);
    auto db = db::Database::open(test_database_.location(), /*create=*/true);
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = db.value();
    store_ = open_sqlite_session_store(db_);
  }

  SessionStart alice_on_web1(long long at) const {
    return SessionStart{"alice", "web1", "root", std::nullopt, "acme", "203.0.113.7:51234", from_unix(at), 4242};
  }

  std::int64_t started(long long at) {
    auto id = store_->start(alice_on_web1(at));
    if (!id) throw std::runtime_error(id.error().message);
    return id.value();
  }

  test_db::TestDatabase test_database_{GetParam()};
  db::DatabasePtr db_;
  SessionStorePtr store_;
};

INSTANTIATE_TEST_SUITE_P(Engines, SqliteSessionStoreTest, test_db::kEngines, test_db::engine_name);

TEST_P(SqliteSessionStoreTest, LiveSessionCapPerOperatorRefusesTheOneOverItAndFreesWhenOneEnds) {
  SessionStart s = alice_on_web1(1700000000);
  s.max_live = 2;
  auto first = store_->start(s);
  auto second = store_->start(s);
  ASSERT_TRUE(first.ok() && second.ok());
  auto third = store_->start(s);
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().message,
            "alice already has 2 live sessions, the most one operator may hold at once; end one first");
  SessionStart bob = s;
  bob.operator_name = "bob";
  EXPECT_TRUE(store_->start(bob).ok()) << "the cap is per operator";
  ASSERT_TRUE(store_->finish(*first, from_unix(1700000060), 0, "closed", "").ok());
  EXPECT_TRUE(store_->start(s).ok()) << "an ended session no longer counts";
  EXPECT_EQ(store_->list().size(), 4u) << "the refused start left no row";
}

TEST_P(SqliteSessionStoreTest, LiveRowsWhoseProcessIsGoneNeverCountAgainstTheCap) {
  SessionStart s = alice_on_web1(1000);
  s.pid = 111;
  s.pid_start = 5;
  ASSERT_TRUE(store_->start(s).ok());  // its process will be gone: a phantom awaiting recovery
  s.pid = 222;
  ASSERT_TRUE(store_->start(s).ok());
  s.max_live = 2;
  s.pid = 333;
  s.alive = [](int pid, std::int64_t pid_start) { return pid != 111 && pid_start == 5; };
  EXPECT_TRUE(store_->start(s).ok()) << "the phantom does not count";
  auto refused = store_->start(s);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message, ::testing::HasSubstr("already has 2 live sessions"));
  EXPECT_EQ(store_->find(1)->pid_start, 5);
}

TEST_P(SqliteSessionStoreTest, StartedSessionIsLiveWithEveryFieldKept) {
  const std::int64_t id = started(1700000000);
  EXPECT_GT(id, 0);
  auto row = store_->find(id);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->id, id);
  EXPECT_EQ(row->operator_name, "alice");
  EXPECT_EQ(row->server, "web1");
  EXPECT_EQ(row->login, "root");
  EXPECT_EQ(row->grant_id, std::nullopt);
  EXPECT_EQ(row->client, "acme");
  EXPECT_EQ(row->source, "203.0.113.7:51234");
  EXPECT_EQ(row->start, from_unix(1700000000));
  EXPECT_EQ(row->end, std::nullopt);
  EXPECT_EQ(row->exit_status, std::nullopt);
  EXPECT_EQ(row->status, "live");
  EXPECT_EQ(row->reason, "");
  EXPECT_EQ(row->pid, 4242);
}

TEST_P(SqliteSessionStoreTest, SessionKeepsTheGrantThatAllowedIt) {
  FixedClock clock(from_unix(1700000000));
  authz::SqliteStore authz(db_, clock);
  ASSERT_TRUE(authz.add_operator({"alice", authz::Role::Operator, "", "JBSWY3DPEHPK3PXP"}).ok());
  authz::Server web1;
  web1.name = "web1";
  web1.host = "192.0.2.10";
  web1.client = "acme";
  web1.host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
  ASSERT_TRUE(authz.add_server(web1).ok());
  authz::CatalogueEntry shell;
  shell.name = "shell";
  ASSERT_TRUE(authz.add_catalogue_entry("web1", shell).ok());
  auto grant = authz.add_grant({"alice", "web1", "root", {"shell"}, from_unix(1700000000), from_unix(1700003600),
                                "ticket 12", "olivia"});
  ASSERT_TRUE(grant.ok()) << grant.error().message;

  SessionStart s = alice_on_web1(1700000100);
  s.grant_id = grant->id;
  auto id = store_->start(s);
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(store_->find(id.value())->grant_id, grant->id);
}

TEST_P(SqliteSessionStoreTest, FinishRecordsTheEndOnce) {
  const std::int64_t id = started(1700000000);
  ASSERT_TRUE(store_->finish(id, from_unix(1700000600), 0, "closed", "").ok());
  auto row = store_->find(id);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->end, from_unix(1700000600));
  EXPECT_EQ(row->exit_status, 0);
  EXPECT_EQ(row->status, "closed");

  // The end is evidence: a second finish must not rewrite it.
  auto again = store_->finish(id, from_unix(1700000700), std::nullopt, "aborted", "grant 3 revoked");
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("already ended (closed)"), std::string::npos) << again.error().message;
  EXPECT_EQ(store_->find(id)->end, from_unix(1700000600));
}

TEST_P(SqliteSessionStoreTest, AbortedSessionKeepsItsReasonAndNoExitStatus) {
  const std::int64_t id = started(1700000000);
  ASSERT_TRUE(store_->finish(id, from_unix(1700000060), std::nullopt, "aborted",
                             "grant 3 expired at 2023-11-14 22:14:20 UTC").ok());
  auto row = store_->find(id);
  EXPECT_EQ(row->status, "aborted");
  EXPECT_EQ(row->exit_status, std::nullopt);
  EXPECT_EQ(row->reason, "grant 3 expired at 2023-11-14 22:14:20 UTC");
}

TEST_P(SqliteSessionStoreTest, FinishRefusesUnknownSessionsAndStatuses) {
  const std::int64_t id = started(1700000000);
  EXPECT_FALSE(store_->finish(id + 100, from_unix(1700000001), 0, "closed", "").ok());
  auto live = store_->finish(id, from_unix(1700000001), 0, "live", "");
  ASSERT_FALSE(live.ok());
  EXPECT_NE(live.error().message.find("expected closed, aborted or refused"), std::string::npos);
  EXPECT_EQ(store_->find(id)->status, "live");
}

TEST_P(SqliteSessionStoreTest, ListIsOldestFirst) {
  const std::int64_t late = started(1700000900);
  const std::int64_t early = started(1700000100);
  const std::int64_t middle = started(1700000500);
  const auto rows = store_->list();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].id, early);
  EXPECT_EQ(rows[1].id, middle);
  EXPECT_EQ(rows[2].id, late);
  EXPECT_EQ(store_->find(late + 1000), std::nullopt);
}

TEST_P(SqliteSessionStoreTest, RecordingsAreLinkedToTheirSession) {
  const std::int64_t id = started(1700000000);
  const std::int64_t other = started(1700000001);
  const RecordingSummary pty{"/var/lib/bastion/recordings/1/0-pty.cast", "asciicast", std::string(64, 'a'), 12, 3400};
  const RecordingSummary exec{"/var/lib/bastion/recordings/1/1-exec.rec", "exec", std::string(64, 'b'), 0,
                              5ull << 30};
  ASSERT_TRUE(store_->add_recording(id, 0, pty, from_unix(1700000002), from_unix(1700000050)).ok());
  ASSERT_TRUE(store_->add_recording(id, 1, exec, from_unix(1700000010), from_unix(1700000020)).ok());

  const auto recs = store_->recordings_of(id);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].session_id, id);
  EXPECT_EQ(recs[0].channel, 0);
  EXPECT_EQ(recs[0].summary.path, pty.path);
  EXPECT_EQ(recs[0].summary.kind, "asciicast");
  EXPECT_EQ(recs[0].summary.sha256, pty.sha256);
  EXPECT_EQ(recs[0].summary.bytes_in, 12u);
  EXPECT_EQ(recs[0].summary.bytes_out, 3400u);
  EXPECT_EQ(recs[0].start, from_unix(1700000002));
  EXPECT_EQ(recs[0].end, from_unix(1700000050));
  EXPECT_EQ(recs[1].channel, 1);
  EXPECT_EQ(recs[1].summary.kind, "exec");
  EXPECT_EQ(recs[1].summary.bytes_out, 5ull << 30);  // beyond 32 bits
  EXPECT_TRUE(store_->recordings_of(other).empty());
}

TEST_P(SqliteSessionStoreTest, CappedRecordingKeepsItsTotalsAndStreamDigests) {
  const std::int64_t id = started(1700000000);
  RecordingSummary exec{"/r/1/0-exec.rec", "exec", std::string(64, 'c'), 5, 1u << 20};
  exec.truncated = true;
  exec.bytes_total_in = 5;
  exec.bytes_total_out = 5ull << 32;
  exec.stream_sha256 = {std::string(64, '1'), std::string(64, '2'), std::string(64, '3')};
  ASSERT_TRUE(store_->add_recording(id, 0, exec, from_unix(1700000001), from_unix(1700000002)).ok());
  const auto recs = store_->recordings_of(id);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_TRUE(recs[0].summary.truncated);
  EXPECT_EQ(recs[0].summary.bytes_out, 1u << 20);
  EXPECT_EQ(recs[0].summary.bytes_total_in, 5u);
  EXPECT_EQ(recs[0].summary.bytes_total_out, 5ull << 32);
  EXPECT_EQ(recs[0].summary.stream_sha256.in, std::string(64, '1'));
  EXPECT_EQ(recs[0].summary.stream_sha256.out, std::string(64, '2'));
  EXPECT_EQ(recs[0].summary.stream_sha256.err, std::string(64, '3'));
}

TEST_P(SqliteSessionStoreTest, RowsFromBeforeTheCapReadTheirStoredCountsAsTotals) {
  const std::int64_t id = started(1700000000);
  // A row as a version before migration 4 wrote it: no totals, no digests.
  db_->exec("INSERT INTO recordings (session_id, channel, kind, path, sha256, bytes_in, bytes_out, started_at) "
            "VALUES (" + std::to_string(id) + ", 0, 'exec', '/old', '', 7, 9, 1700000000)");
  const auto recs = store_->recordings_of(id);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_FALSE(recs[0].summary.truncated);
  EXPECT_EQ(recs[0].summary.bytes_total_in, 7u);
  EXPECT_EQ(recs[0].summary.bytes_total_out, 9u);
  EXPECT_TRUE(recs[0].summary.stream_sha256.in.empty());
}

TEST_P(SqliteSessionStoreTest, RecordingOfUnknownSessionIsRefused) {
  auto st = store_->add_recording(999, 0, RecordingSummary{"/x", "exec", "", 0, 0}, from_unix(1), from_unix(2));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("no session 999"), std::string::npos);
}

TEST_P(SqliteSessionStoreTest, RowsSurviveReopeningTheDatabase) {
  const std::int64_t id = started(1700000000);
  ASSERT_TRUE(store_->finish(id, from_unix(1700000010), 3, "closed", "").ok());
  store_.reset();
  db_.reset();
  auto reopened = db::Database::open(test_database_.location(), /*create=*/false);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  auto row = open_sqlite_session_store(reopened.value())->find(id);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->exit_status, 3);
}

TEST_P(SqliteSessionStoreTest, DatabaseFailureIsAnErrorNotAnException) {
  // A read-only connection stands in for a database that can no longer be written (disk full,
  // permissions): start must report it so the gateway refuses the session (fail closed).
  db_->exec(db_->is_postgres() ? "SET default_transaction_read_only = on" : "PRAGMA query_only = ON");
  auto id = store_->start(alice_on_web1(1700000000));
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.error().message.find("the session journal cannot be written"), std::string::npos) << id.error().message;
}

}  // namespace
}  // namespace bastion::audit
