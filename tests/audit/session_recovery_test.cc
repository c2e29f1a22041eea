#include "audit/session_recovery.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "audit/closing_spool.h"
#include "audit/session_closing.h"
#include "audit/verify.h"
#include "tests/audit/audit_fixture.h"

namespace bastion::audit {
namespace {

using ::testing::HasSubstr;

class SessionRecoveryTest : public testing::AuditFixtureOnEngines {
 protected:
  // start_live records a live session of alice on web1 with its chained session.start, as the
  // gateway does, and a recording file as its process left it.
  std::int64_t start_live(const std::string& cast) {
    SqliteSessionStore store(db_);
    auto id = store.start({"alice", "web1", "root", std::nullopt, "acme", "203.0.113.7:51234", start_, 4242});
    EXPECT_TRUE(id.ok());
    EXPECT_TRUE(log_->append({start_, "session.start", "alice", "203.0.113.7:51234", "web1", *id,
                              {{"login", "root"}, {"grant", nullptr}, {"client", "acme"}, {"started_at", to_unix(start_)}}})
                    .ok());
    std::filesystem::create_directories(recordings_dir_ + "/" + std::to_string(*id));
    path_ = recordings_dir_ + "/" + std::to_string(*id) + "/0-pty.cast";
    std::ofstream(path_, std::ios::binary) << cast;
    return *id;
  }

  RecoveryReport recover(bool gone = true) {
    return recover_sessions(db_, recordings_dir_, quiet_sinks(), clock_, [gone](const SessionRow&) { return gone; },
                            "session process gone (test)");
  }

  nlohmann::json recovered_event() {
    EventFilter f;
    f.kind = "session.recovered";
    const auto events = list_events(*db_, f);
    EXPECT_EQ(events.size(), 1u);
    return events.empty() ? nlohmann::json() : events[0].event.details;
  }

  Seconds start_ = testing::kNow - std::chrono::hours(1);
  FixedClock clock_{testing::kNow};
  std::string path_;
};

INSTANTIATE_TEST_SUITE_P(Engines, SessionRecoveryTest, test_db::kEngines, test_db::engine_name);

TEST_P(SessionRecoveryTest, OrphanWithoutSpoolIsAbortedWithItsFilesDigestAndARecoveredEvent) {
  const auto id = start_live(testing::kCast);
  const auto report = recover();
  ASSERT_EQ(report.recovered.size(), 1u) << (report.problems.empty() ? "" : report.problems[0]);
  EXPECT_EQ(report.recovered[0].from, "recordings");
  SqliteSessionStore store(db_);
  const auto row = store.find(id);
  EXPECT_EQ(row->status, "aborted");
  EXPECT_EQ(row->reason, "session process gone (test)");
  const auto recs = store.recordings_of(id);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].summary.sha256, sha256_hex(testing::kCast));
  EXPECT_EQ(recs[0].summary.kind, "asciicast");
  const auto details = recovered_event();
  EXPECT_EQ(details["recovered_from"], "recordings");
  EXPECT_EQ(details["recording"]["sha256"], sha256_hex(testing::kCast));
  EXPECT_EQ(details["pid"], 4242);
  EXPECT_GE(details["late_seconds"].get<long long>(), 0);
  const auto verified = verify_audit(*db_);
  EXPECT_TRUE(verified.intact()) << verified.findings.front().message;
}

TEST_P(SessionRecoveryTest, SpooledClosingWritesAreReplayedAsTheProcessWouldHaveWrittenThem) {
  const auto id = start_live(testing::kCast);
  RecordingSummary r{path_, "asciicast", sha256_hex(testing::kCast), 4, 40};
  const ClosingWrites spooled{id, 0, start_, start_ + std::chrono::minutes(5), 0, "closed", "", r, "",
                              "alice", "203.0.113.7:51234", "web1"};
  ASSERT_TRUE(append_spool(spool_path(recordings_dir_, id), spooled).ok());
  const auto report = recover();
  ASSERT_EQ(report.recovered.size(), 1u);
  EXPECT_EQ(report.recovered[0].from, "spool");
  EXPECT_EQ(report.recovered[0].late_seconds, 3600 - 300);
  SqliteSessionStore store(db_);
  const auto row = store.find(id);
  EXPECT_EQ(row->status, "closed");
  EXPECT_EQ(row->exit_status, 0);
  EXPECT_EQ(*row->end, start_ + std::chrono::minutes(5));
  ASSERT_EQ(store.recordings_of(id).size(), 1u);
  EXPECT_EQ(store.recordings_of(id)[0].summary.bytes_out, 40u);
  EXPECT_EQ(recovered_event()["recovered_from"], "spool");
  EXPECT_FALSE(std::filesystem::exists(spool_path(recordings_dir_, id))) << "the spool goes once replayed";
  const auto verified = verify_audit(*db_);
  EXPECT_TRUE(verified.intact()) << verified.findings.front().message;
}

TEST_P(SessionRecoveryTest, RowWhoseProcessRunsIsLeftAlone) {
  const auto id = start_live(testing::kCast);
  EXPECT_TRUE(recover(false).recovered.empty());
  EXPECT_EQ(SqliteSessionStore(db_).find(id)->status, "live");
}

TEST_P(SessionRecoveryTest, ClosingWritesCommitOnceAndAreHarmlessToRepeat) {
  const auto id = start_live(testing::kCast);
  const ClosingWrites w{id, 0, start_, start_ + std::chrono::minutes(1), 0, "closed", "", std::nullopt, "",
                        "alice", "203.0.113.7:51234", ""};
  auto first = apply_closing(db_, w, quiet_sinks(), testing::kNow);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(*first, ClosingOutcome::Written);
  auto again = apply_closing(db_, w, quiet_sinks(), testing::kNow);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, ClosingOutcome::AlreadyClosed);
  EXPECT_EQ(count("events", "kind = 'session.end'"), 1);
  EXPECT_EQ(count("events", "kind = 'session.end' AND server = 'web1'"), 1) << "the row names the server";
}

TEST_P(SessionRecoveryTest, ClosingWritesFailWhileAnotherProcessHoldsTheDatabaseAndNothingIsHalfWritten) {
  const auto id = start_live(testing::kCast);
  auto other = db::Database::open(db_->path(), false);
  ASSERT_TRUE(other.ok());
  auto held = std::make_unique<db::Database::Transaction>(**other);  // the write lock, on either engine
  db_->set_busy_timeout(std::chrono::milliseconds(50));
  RecordingSummary r{path_, "asciicast", sha256_hex(testing::kCast), 4, 40};
  const ClosingWrites w{id, 0, start_, start_ + std::chrono::minutes(1), 0, "closed", "", r, "",
                        "alice", "203.0.113.7:51234", "web1"};
  const auto locked_at = std::chrono::steady_clock::now();
  auto refused = apply_closing(db_, w, quiet_sinks(), testing::kNow);
  EXPECT_LT(std::chrono::steady_clock::now() - locked_at, std::chrono::seconds(2)) << "bounded by the busy timeout";
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message, HasSubstr("could not be committed"));
  held.reset();
  EXPECT_EQ(count("recordings"), 0);
  EXPECT_EQ(SqliteSessionStore(db_).find(id)->status, "live");
  ASSERT_TRUE(apply_closing(db_, w, quiet_sinks(), testing::kNow).ok());
  EXPECT_EQ(count("recordings"), 1);
}

}  // namespace
}  // namespace bastion::audit
