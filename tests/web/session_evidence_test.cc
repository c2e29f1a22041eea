// session_evidence: the verdicts of the session page, from that session's own evidence
// (audit::verify_session): a tampered recording of the session is named on its page, whatever
// else the database holds, and tampering elsewhere does not mark this session.
#include "web/session_evidence.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "tests/audit/audit_fixture.h"

namespace bastion::web {
namespace {

using ::testing::HasSubstr;

class SessionEvidenceTest : public audit::testing::AuditFixture {
 protected:
  void SetUp() override {
    AuditFixture::SetUp();
    session_ = add_session("web1", "acme", 1);
    cast_path_ = add_recording(session_, audit::testing::kCast);
    other_ = add_session("db1", "globex", 1);
    other_path_ = add_recording(other_, audit::testing::kCast);
  }
  static void flip_byte(const std::string& path) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(5);
    f.put('X');
  }
  std::int64_t recording_of(std::int64_t session) {
    auto q = db_->prepare("SELECT id FROM recordings WHERE session_id = ?");
    q.bind(1, session);
    EXPECT_TRUE(q.step());
    return q.col_int(0);
  }
  std::int64_t session_ = 0, other_ = 0;
  std::string cast_path_, other_path_;
};

TEST_F(SessionEvidenceTest, AnUntouchedSessionAndItsRecordingAreVerified) {
  const auto e = session_evidence(*db_, session_);
  EXPECT_EQ(e.session, "");
  EXPECT_TRUE(e.recordings.empty());
}

TEST_F(SessionEvidenceTest, ATamperedRecordingOfTheSessionIsNamedOnItsPage) {
  flip_byte(cast_path_);
  const auto e = session_evidence(*db_, session_);
  ASSERT_EQ(e.recordings.count(recording_of(session_)), 1u);
  EXPECT_THAT(e.recordings.at(recording_of(session_)),
              HasSubstr("of session " + std::to_string(session_) + " (" + cast_path_ + ") was altered"));
  EXPECT_EQ(e.session, "");
  // The other client's session is untouched and stays verified.
  const auto other = session_evidence(*db_, other_);
  EXPECT_TRUE(other.recordings.empty());
  EXPECT_EQ(other.session, "");
}

TEST_F(SessionEvidenceTest, ATamperedRecordingIsNamedEvenWithManyFindingsElsewhere) {
  // 150 altered events of other activity: more findings than a whole `audit verify` lists.
  for (int i = 0; i < 150; ++i) add_event("channel.allowed", "db1", 1);
  sql("UPDATE events SET details = '{\"n\":0}' WHERE session_id IS NULL");
  flip_byte(cast_path_);
  const auto e = session_evidence(*db_, session_);
  ASSERT_EQ(e.recordings.count(recording_of(session_)), 1u);
  EXPECT_THAT(e.recordings.at(recording_of(session_)), HasSubstr("was altered: its SHA-256 is"));
}

TEST_F(SessionEvidenceTest, AnEditedSessionRowAndAnAlteredEventOfItAreNamed) {
  sql("UPDATE sessions SET client = 'globex' WHERE id = " + std::to_string(session_));
  EXPECT_THAT(session_evidence(*db_, session_).session, HasSubstr("its row says client 'globex'"));
  sql("UPDATE events SET actor = 'mallory' WHERE kind = 'session.start' AND session_id = " + std::to_string(session_));
  EXPECT_THAT(session_evidence(*db_, session_).session, HasSubstr("(session.start) was altered"));
  EXPECT_EQ(session_evidence(*db_, other_).session, "");
}

}  // namespace
}  // namespace bastion::web
