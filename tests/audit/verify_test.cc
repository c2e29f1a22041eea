#include "audit/verify.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "audit/event_chain.h"
#include "tests/audit/audit_fixture.h"

namespace bastion::audit {
namespace {

using ::testing::HasSubstr;
using Kind = VerifyFinding::Kind;

class VerifyTest : public testing::AuditFixture {
 protected:
  void SetUp() override {
    AuditFixture::SetUp();
    session_ = add_session("web1", "acme", 1);
    cast_path_ = add_recording(session_, testing::kCast);
    for (int i = 0; i < 5; ++i) add_event("session.start", "web1", 1, session_);
  }
  std::int64_t session_ = 0;
  std::string cast_path_;
};

TEST_F(VerifyTest, UntouchedDatabaseIsIntact) {
  const auto report = verify_audit(*db_);
  EXPECT_TRUE(report.intact()) << report.findings.front().message;
  EXPECT_EQ(report.events, 5);
  EXPECT_EQ(report.recordings, 1);
}

TEST_F(VerifyTest, AlteredDetailsNameTheEvent) {
  sql(R"(UPDATE events SET details = '{"n":7}' WHERE id = 3)");
  const auto report = verify_audit(*db_);
  ASSERT_FALSE(report.intact());
  EXPECT_EQ(report.findings.front().kind, Kind::AlteredEvent);
  EXPECT_EQ(report.findings.front().event_id, 3);
  EXPECT_THAT(report.findings.front().message, HasSubstr("event 3 (session.start) was altered"));
}

TEST_F(VerifyTest, AlteredEventWithRecomputedHashBreaksTheNextLink) {
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

TEST_F(VerifyTest, DeletedEventIsNamedAsAGap) {
  sql("DELETE FROM events WHERE id = 4");
  const auto report = verify_audit(*db_);
  ASSERT_FALSE(report.intact());
  EXPECT_EQ(report.findings.front().kind, Kind::MissingEvents);
  EXPECT_EQ(report.findings.front().event_id, 5);
  EXPECT_THAT(report.findings.front().message, HasSubstr("event 4 is missing"));
}

TEST_F(VerifyTest, DeletedFirstEventsAreNamed) {
  sql("DELETE FROM events WHERE id <= 2");
  const auto report = verify_audit(*db_);
  ASSERT_FALSE(report.intact());
  EXPECT_THAT(report.findings.front().message, HasSubstr("events 1 to 2 are missing"));
}

TEST_F(VerifyTest, ForgedPurgeAnchorIsItselfAnAlteredEvent) {
  sql("DELETE FROM events WHERE id = 2");
  sql(R"(UPDATE events SET kind = 'retention.purge', details = '{"purged_events":[{"from":2,"to":2,"last_hash":"x"}]}' WHERE id = 5)");
  const auto report = verify_audit(*db_);
  ASSERT_FALSE(report.intact());
  bool names_forgery = false;
  for (const auto& f : report.findings) names_forgery |= f.kind == Kind::AlteredEvent && f.event_id == 5;
  EXPECT_TRUE(names_forgery);
}

TEST_F(VerifyTest, FlippedRecordingByteNamesRecordingAndSession) {
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
}

TEST_F(VerifyTest, MissingRecordingFileIsNamed) {
  std::filesystem::remove(cast_path_);
  const auto report = verify_audit(*db_);
  ASSERT_FALSE(report.intact());
  EXPECT_EQ(report.findings.front().kind, Kind::MissingRecording);
  EXPECT_THAT(report.findings.front().message, HasSubstr("cannot be checked"));
}

}  // namespace
}  // namespace bastion::audit
