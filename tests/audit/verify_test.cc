#include "audit/verify.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "audit/event_chain.h"
#include "audit/sha256.h"
#include "tests/audit/audit_fixture.h"

namespace bastion::audit {
namespace {

using ::testing::HasSubstr;
using Kind = VerifyFinding::Kind;

class VerifyTest : public testing::AuditFixtureOnEngines {
 protected:
  // Events 1-5 are plain; 6 and 7 start and end the session, 8 states its recording's digest.
  void SetUp() override {
    AuditFixture::SetUp();
    for (int i = 0; i < 5; ++i) add_event("channel.allowed", "web1", 1);
    session_ = add_session("web1", "acme", 1);
    cast_path_ = add_recording(session_, testing::kCast);
  }

  // finding_of returns the first finding of `kind`, or fails the test.
  static VerifyFinding finding_of(const VerifyReport& r, Kind kind) {
    for (const auto& f : r.findings)
      if (f.kind == kind) return f;
    ADD_FAILURE() << "no finding of that kind; first finding: " << (r.findings.empty() ? "none" : r.findings[0].message);
    return {};
  }
  std::int64_t session_ = 0;
  std::string cast_path_;
};

INSTANTIATE_TEST_SUITE_P(Engines, VerifyTest, test_db::kEngines, test_db::engine_name);

TEST_P(VerifyTest, UntouchedDatabaseIsIntact) {
  const auto report = verify_audit(*db_);
  EXPECT_TRUE(report.intact()) << report.findings.front().message;
  EXPECT_EQ(report.events, 8);
  EXPECT_EQ(report.recordings, 1);
  EXPECT_EQ(report.sessions, 1);
}

TEST_P(VerifyTest, AlteredDetailsNameTheEvent) {
  sql(R"(UPDATE events SET details = '{"n":7}' WHERE id = 3)");
  const auto report = verify_audit(*db_);
  ASSERT_FALSE(report.intact());
  EXPECT_EQ(report.findings.front().kind, Kind::AlteredEvent);
  EXPECT_EQ(report.findings.front().event_id, 3);
  EXPECT_THAT(report.findings.front().message, HasSubstr("event 3 (channel.allowed) was altered"));
}

TEST_P(VerifyTest, AlteredEventWithRecomputedHashBreaksTheNextLink) {
  auto row = list_events(*db_, {})[1];
  row.event.actor = "mallory";
  const std::string rehashed = event_hash(row.id, row.prev_hash, row.event);
  sql("UPDATE events SET actor = 'mallory', hash = '" + rehashed + "' WHERE id = 2");
  const auto report = verify_audit(*db_);
  ASSERT_FALSE(report.intact());
  EXPECT_EQ(report.findings.front().kind, Kind::BrokenLink);
  EXPECT_EQ(report.findings.front().event_id, 3);
  EXPECT_THAT(report.findings.front().message, HasSubstr("not that of event 2"));
}

TEST_P(VerifyTest, DeletedEventIsNamedAsAGap) {
  sql("DELETE FROM events WHERE id = 4");
  const auto report = verify_audit(*db_);
  ASSERT_FALSE(report.intact());
  EXPECT_EQ(report.findings.front().kind, Kind::MissingEvents);
  EXPECT_EQ(report.findings.front().event_id, 5);
  EXPECT_THAT(report.findings.front().message, HasSubstr("event 4 is missing"));
}

TEST_P(VerifyTest, DeletedFirstEventsAreNamed) {
  sql("DELETE FROM events WHERE id <= 2");
  const auto report = verify_audit(*db_);
  ASSERT_FALSE(report.intact());
  EXPECT_THAT(report.findings.front().message, HasSubstr("events 1 to 2 are missing"));
}

TEST_P(VerifyTest, ForgedPurgeAnchorIsItselfAnAlteredEvent) {
  sql("DELETE FROM events WHERE id = 2");
  sql(R"(UPDATE events SET kind = 'retention.purge', details = '{"purged_events":[{"from":2,"to":2,"last_hash":"x"}]}' WHERE id = 5)");
  const auto report = verify_audit(*db_);
  ASSERT_FALSE(report.intact());
  bool names_forgery = false;
  for (const auto& f : report.findings) names_forgery |= f.kind == Kind::AlteredEvent && f.event_id == 5;
  EXPECT_TRUE(names_forgery);
}

TEST_P(VerifyTest, FlippedRecordingByteNamesRecordingAndSession) {
  std::fstream f(cast_path_, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(5);
  f.put('X');
  f.close();
  const auto report = verify_audit(*db_);
  ASSERT_FALSE(report.intact());
  EXPECT_EQ(report.findings.front().kind, Kind::AlteredRecording);
  EXPECT_EQ(report.findings.front().session_id, session_);
  EXPECT_THAT(report.findings.front().message,
              HasSubstr("recording 1 of session " + std::to_string(session_) + " (" + cast_path_ + ") was altered"));
  EXPECT_THAT(report.findings.front().message, HasSubstr("not the chained (event 8)"));
}

TEST_P(VerifyTest, MissingRecordingFileIsNamed) {
  std::filesystem::remove(cast_path_);
  const auto report = verify_audit(*db_);
  ASSERT_FALSE(report.intact());
  EXPECT_EQ(report.findings.front().kind, Kind::MissingRecording);
  EXPECT_THAT(report.findings.front().message, HasSubstr("cannot be checked"));
}

// The tampering of issue 13: the true digest sits in the chained event, not in the table.
TEST_P(VerifyTest, SwappedRecordingFileWithUpdatedRowIsReported) {
  const std::string forged = "{\"version\": 2, \"width\": 80, \"height\": 24}\n[0.1, \"o\", \"nothing here\"]\n";
  std::ofstream(cast_path_, std::ios::binary | std::ios::trunc) << forged;
  sql("UPDATE recordings SET sha256 = '" + sha256_hex(forged) + "'");
  const auto report = verify_audit(*db_);
  ASSERT_FALSE(report.intact());
  const auto row = finding_of(report, Kind::AlteredRecording);
  EXPECT_EQ(row.session_id, session_);
  EXPECT_EQ(row.event_id, 8);
  EXPECT_THAT(row.message, HasSubstr("row holds SHA-256 " + sha256_hex(forged) + ", not the " +
                                     sha256_hex(testing::kCast) + " stated by event 8"));
  bool names_file = false;
  for (const auto& f : report.findings) names_file |= f.message.find("its SHA-256 is " + sha256_hex(forged)) != std::string::npos;
  EXPECT_TRUE(names_file);
}

TEST_P(VerifyTest, DeletedRecordingRowAndFileAreReported) {
  sql("DELETE FROM recordings");
  std::filesystem::remove(cast_path_);
  const auto report = verify_audit(*db_);
  ASSERT_FALSE(report.intact());
  const auto f = finding_of(report, Kind::MissingRecording);
  EXPECT_EQ(f.session_id, session_);
  EXPECT_EQ(f.event_id, 8);
  EXPECT_THAT(f.message, HasSubstr("stated by event 8 has no recordings row (deleted)"));
  EXPECT_EQ(report.recordings, 0);
}

TEST_P(VerifyTest, RecordingRowNoChainedEventStatesIsReported) {
  const auto other = add_session("web1", "acme", 2);
  const std::string path = recordings_dir_ + "/planted.cast";
  std::ofstream(path) << testing::kCast;
  sql("INSERT INTO recordings (session_id, channel, kind, path, sha256, bytes_in, bytes_out, started_at, ended_at) "
      "VALUES (" + std::to_string(other) + ", 0, 'asciicast', '" + path + "', '" + sha256_hex(testing::kCast) +
      "', 0, 0, 0, 0)");
  const auto f = finding_of(verify_audit(*db_), Kind::UnanchoredRecording);
  EXPECT_EQ(f.session_id, other);
  EXPECT_THAT(f.message, HasSubstr("is stated by no chained session.end event"));
}

TEST_P(VerifyTest, EditedSessionClientIsReported) {
  sql("UPDATE sessions SET client = 'globex'");
  const auto f = finding_of(verify_audit(*db_), Kind::AlteredSession);
  EXPECT_EQ(f.session_id, session_);
  EXPECT_EQ(f.event_id, 6);
  EXPECT_THAT(f.message, HasSubstr("its row says client 'globex', its chained event 6 says 'acme'"));
}

TEST_P(VerifyTest, EditedSessionOperatorIsReported) {
  sql(R"(UPDATE sessions SET "operator" = 'mallory')");
  const auto f = finding_of(verify_audit(*db_), Kind::AlteredSession);
  EXPECT_THAT(f.message, HasSubstr("its row says operator 'mallory', its chained event 6 says 'alice'"));
}

TEST_P(VerifyTest, EditedSessionServerIsReported) {
  sql("UPDATE sessions SET server = 'db1'");
  const auto f = finding_of(verify_audit(*db_), Kind::AlteredSession);
  EXPECT_THAT(f.message, HasSubstr("its row says server 'db1', its chained event 6 says 'web1'"));
}

TEST_P(VerifyTest, EditedSessionLoginGrantAndTimesAreReported) {
  foreign_keys_off();  // grant 7 does not exist; the sqlite3 shell would not mind
  sql("UPDATE sessions SET login = 'admin', grant_id = 7, started_at = started_at - 3600, ended_at = ended_at + 60");
  const auto report = verify_audit(*db_);
  std::string all;
  for (const auto& f : report.findings) all += f.message + "\n";
  EXPECT_THAT(all, HasSubstr("login 'admin'"));
  EXPECT_THAT(all, HasSubstr("grant '7', its chained event 6 says 'none'"));
  EXPECT_THAT(all, HasSubstr("says start '"));
  EXPECT_THAT(all, HasSubstr("says end '"));
}

TEST_P(VerifyTest, ReopenedSessionRowIsReported) {
  sql("UPDATE sessions SET status = 'live', ended_at = NULL");
  const auto f = finding_of(verify_audit(*db_), Kind::AlteredSession);
  EXPECT_THAT(f.message, HasSubstr("is live in its row, but event 7 (session.end) ended it"));
}

TEST_P(VerifyTest, SessionRowWithNoChainedStartIsReported) {
  SqliteSessionStore store(db_);
  auto planted = store.start({"alice", "web1", "root", std::nullopt, "acme", "203.0.113.7:1", testing::kNow, 1});
  ASSERT_TRUE(planted.ok());
  const auto f = finding_of(verify_audit(*db_), Kind::UnanchoredSession);
  EXPECT_EQ(f.session_id, *planted);
  EXPECT_THAT(f.message, HasSubstr("has no chained session.start event"));
}

TEST_P(VerifyTest, DeletedSessionRowIsReported) {
  foreign_keys_off();  // as the sqlite3 shell runs by default
  sql("DELETE FROM recordings");
  sql("DELETE FROM sessions");
  const auto f = finding_of(verify_audit(*db_), Kind::UnanchoredSession);
  EXPECT_EQ(f.session_id, session_);
  EXPECT_THAT(f.message, HasSubstr("its row is gone"));
}


// verify_session: the same checks for one session, reading that session only.

// about: the findings of a whole verify that name `session`.
std::vector<std::string> about(const VerifyReport& r, std::int64_t session) {
  std::vector<std::string> out;
  for (const auto& f : r.findings)
    if (f.session_id == session) out.push_back(f.message);
  return out;
}

TEST_P(VerifyTest, OneSessionUntouchedIsIntactAndReadsItsOwnEventsOnly) {
  const auto report = verify_session(*db_, session_);
  EXPECT_TRUE(report.intact()) << report.findings.front().message;
  EXPECT_EQ(report.events, 3);  // its start, its end, the end stating its recording
  EXPECT_EQ(report.sessions, 1);
  EXPECT_EQ(report.recordings, 1);
}

TEST_P(VerifyTest, OneSessionFindsWhatTheWholeVerifySaysOfIt) {
  const auto other = add_session("db1", "globex", 3);
  add_recording(other, testing::kCast);
  const std::string forged = "{\"version\": 2, \"width\": 80, \"height\": 24}\n[0.1, \"o\", \"nothing\"]\n";
  std::ofstream(cast_path_, std::ios::binary | std::ios::trunc) << forged;   // this session's file swapped,
  sql("UPDATE recordings SET sha256 = '" + sha256_hex(forged) + "' WHERE session_id = " + std::to_string(session_));
  sql(R"(UPDATE sessions SET "operator" = 'mallory' WHERE id = )" + std::to_string(session_));  // its row edited
  const auto whole = verify_audit(*db_);
  const auto one = verify_session(*db_, session_);
  EXPECT_THAT(about(one, session_), ::testing::ContainerEq(about(whole, session_)));
  EXPECT_EQ(about(one, session_).size(), 3u);  // the row's digest, the file's, the operator
  EXPECT_TRUE(verify_session(*db_, other).intact());  // the other session is untouched
}

TEST_P(VerifyTest, OneSessionFindsItsAlteredEvent) {
  sql(R"(UPDATE events SET details = '{"status":"closed"}' WHERE id = 7)");
  const auto report = verify_session(*db_, session_);
  ASSERT_FALSE(report.intact());
  EXPECT_EQ(report.findings.front().kind, Kind::AlteredEvent);
  EXPECT_EQ(report.findings.front().session_id, session_);
  EXPECT_THAT(report.findings.front().message, HasSubstr("event 7 (session.end) was altered"));
}

TEST_P(VerifyTest, OneSessionRehashedEventBreaksTheLinkAfterIt) {
  add_event("channel.allowed", "web1", 0);  // event 9 follows the session's last event
  auto row = list_events(*db_, {})[7];      // event 8 states the recording's digest
  ASSERT_EQ(row.id, 8);
  row.event.details["recording"]["sha256"] = std::string(64, '0');
  const std::string rehashed = event_hash(row.id, row.prev_hash, row.event);
  sql("UPDATE events SET details = '" + compact_details(row.event.details) + "', hash = '" + rehashed + "' WHERE id = 8");
  const auto report = verify_session(*db_, session_);
  std::string all;
  for (const auto& f : report.findings) {
    EXPECT_EQ(f.session_id, session_);
    all += f.message + "\n";
  }
  EXPECT_THAT(all, HasSubstr("chain broken before event 9"));
  EXPECT_THAT(all, HasSubstr("not the chained (event 8) " + std::string(64, '0')));
}

TEST_P(VerifyTest, OneSessionIsNotCrowdedOutByFindingsElsewhere) {
  // More than kMaxFindings findings about other rows: a whole verify stops listing before this
  // session's; verify_session still names it.
  for (int i = 0; i < 120; ++i) add_event("channel.allowed", "web1", 1);
  sql("UPDATE events SET details = '{\"n\":0}' WHERE id <= 5 OR id > 8");
  std::fstream f(cast_path_, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(5);
  f.put('X');
  f.close();
  EXPECT_TRUE(about(verify_audit(*db_), session_).empty());  // what the page used to rely on
  const auto one = verify_session(*db_, session_);
  ASSERT_EQ(about(one, session_).size(), 1u);
  EXPECT_THAT(about(one, session_).front(), HasSubstr("was altered: its SHA-256 is"));
}

}  // namespace
}  // namespace bastion::audit
