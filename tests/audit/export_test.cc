#include "audit/export.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/audit/audit_fixture.h"

namespace bastion::audit {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ExportTest : public testing::AuditFixture {};

TEST_F(ExportTest, ArchiveHoldsThatClientsDataAndNothingOfAnother) {
  const auto acme = add_session("web1", "acme", 3);
  const auto globex = add_session("db1", "globex", 2);
  add_recording(acme, testing::kCast);
  add_recording(globex, "BSTNREC1\n", "exec");
  add_event("session.start", "web1", 3, acme);
  add_event("session.start", "db1", 2, globex);
  const std::string out = dir_ / "acme.tar.gz";

  auto report = export_client(db_, "acme", out);

  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->sessions, 1);
  EXPECT_EQ(report->events, 4);  // its session's start, end and digest, and the one added
  EXPECT_EQ(report->recordings, 1);
  const auto listing = testing::run_command("tar tzf " + out);
  ASSERT_TRUE(listing.has_value());
  EXPECT_EQ(*listing, "recordings/" + std::to_string(acme) +
                          "/0-pty.cast\nsessions.json\nevents.json\ngrants.json\nrequests.json\n");
  const auto sessions = testing::run_command("tar xzOf " + out + " sessions.json");
  const auto events = testing::run_command("tar xzOf " + out + " events.json");
  const auto cast = testing::run_command("tar xzOf " + out + " recordings/" + std::to_string(acme) + "/0-pty.cast");
  ASSERT_TRUE(sessions && events && cast);
  EXPECT_EQ(*cast, testing::kCast);
  EXPECT_THAT(*sessions, HasSubstr("\"web1\""));
  // As a JSON string: "db1" alone also turns up in hex digests of the chain now and then.
  EXPECT_THAT(*sessions + *events, Not(HasSubstr("\"db1\"")));
  EXPECT_THAT(*sessions + *events, Not(HasSubstr("globex")));
  EXPECT_EQ(nlohmann::json::parse(*events).size(), 4u);
}

TEST_F(ExportTest, RefusesAnUnknownClientAndAnExistingFile) {
  const std::string out = dir_ / "x.tar.gz";
  auto unknown = export_client(db_, "initech", out);
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.error().message, HasSubstr("no client named 'initech'"));
  std::ofstream(out) << "already here";
  auto existing = export_client(db_, "acme", out);
  ASSERT_FALSE(existing.ok());
  EXPECT_THAT(existing.error().message, HasSubstr("cannot create " + out));
}

TEST_F(ExportTest, MissingRecordingFailsAndLeavesNoPartialArchive) {
  const auto acme = add_session("web1", "acme", 3);
  std::filesystem::remove(add_recording(acme, testing::kCast));
  const std::string out = dir_ / "acme.tar.gz";
  auto report = export_client(db_, "acme", out);
  ASSERT_FALSE(report.ok());
  EXPECT_THAT(report.error().message, HasSubstr("recording 1 of session " + std::to_string(acme) + " cannot be exported"));
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace bastion::audit
