#include "audit/export.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "tests/audit/audit_fixture.h"

namespace bastion::audit {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ExportTest : public testing::AuditFixtureOnEngines {};

INSTANTIATE_TEST_SUITE_P(Engines, ExportTest, test_db::kEngines, test_db::engine_name);

TEST_P(ExportTest, ArchiveHoldsThatClientsDataAndNothingOfAnother) {
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

// The archive the client takes away, encrypted (OpenPGP): the stock gpg gives back exactly the
// bytes of the clear archive built in memory.
TEST_P(ExportTest, EncryptedArchiveIsTheClearOneUnderGpg) {
  const auto acme = add_session("web1", "acme", 3);
  add_recording(acme, testing::kCast);
  auto built = build_client_export(db_, "acme");
  ASSERT_TRUE(built.ok()) << built.error().message;
  auto sealed = encrypt_export(*built, "acme's export passphrase", "acme.tar.gz", 1'765'000'000);
  ASSERT_TRUE(sealed.ok()) << sealed.error().message;
  EXPECT_EQ(sealed->report.sessions, 1);
  std::ofstream clear_file(dir_ / "clear.tar.gz", std::ios::binary);
  ASSERT_TRUE(built->copy_to(clear_file).ok());
  clear_file.close();
  std::ofstream gpg_file(dir_ / "acme.tar.gz.gpg", std::ios::binary);
  ASSERT_TRUE(sealed->copy_to(gpg_file).ok());
  gpg_file.close();
  ASSERT_EQ(::mkdir((dir_ / "gnupg").c_str(), 0700), 0);
  const std::string home = "GNUPGHOME=" + (dir_ / "gnupg");
  const auto opened = testing::run_command(
      "echo \"acme's export passphrase\" | " + home +
      " gpg --batch --quiet --no-symkey-cache --pinentry-mode loopback --passphrase-fd 0 --decrypt " +
      (dir_ / "acme.tar.gz.gpg") + " > " + (dir_ / "opened.tar.gz") + " && cmp " + (dir_ / "opened.tar.gz") + " " +
      (dir_ / "clear.tar.gz") + " && tar tzf " + (dir_ / "opened.tar.gz"));
  (void)testing::run_command(home + " gpgconf --kill gpg-agent");
  ASSERT_TRUE(opened.has_value()) << "gpg could not open it, or its output differs from the clear archive";
  EXPECT_THAT(*opened, HasSubstr("sessions.json"));
}

TEST_P(ExportTest, RefusesAnUnknownClientAndAnExistingFile) {
  const std::string out = dir_ / "x.tar.gz";
  auto unknown = export_client(db_, "initech", out);
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.error().message, HasSubstr("no client named 'initech'"));
  std::ofstream(out) << "already here";
  auto existing = export_client(db_, "acme", out);
  ASSERT_FALSE(existing.ok());
  EXPECT_THAT(existing.error().message, HasSubstr("cannot create " + out));
}

TEST_P(ExportTest, MissingRecordingFailsAndLeavesNoPartialArchive) {
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
