#include "authz/sftp_policy.h"

#include <gtest/gtest.h>

namespace bastion::authz {
namespace {

CatalogueEntry limited(std::string name, OpType type, TransferLimit direction, std::string path = "") {
  CatalogueEntry e;
  e.name = std::move(name);
  e.type = type;
  e.direction = direction;
  e.path = std::move(path);
  return e;
}

SftpRequest req(SftpAccess a, std::string_view what, std::vector<std::string_view> paths = {}) {
  return SftpRequest{a, what, std::move(paths)};
}

bool allowed(const std::vector<CatalogueEntry>& entries, const SftpRequest& r) {
  return !sftp_refusal(entries, r).has_value();
}

const std::vector<CatalogueEntry> kWwwUpload = {limited("www-up", OpType::Sftp, TransferLimit::Upload, "/srv/www/**")};
const std::vector<CatalogueEntry> kLogsDownload = {
    limited("logs", OpType::Sftp, TransferLimit::Download, "/var/log/*.log")};

TEST(SftpPolicy, AnUnlimitedSftpEntryNeedsNoGateAndAnyLimitedOneDoes) {
  EXPECT_FALSE(sftp_gate_needed(std::vector{limited("files", OpType::Sftp, TransferLimit::Both)}));
  EXPECT_TRUE(sftp_gate_needed(kWwwUpload));
  EXPECT_TRUE(sftp_gate_needed(std::vector{limited("scp", OpType::Scp, TransferLimit::Both)}));
  EXPECT_FALSE(sftp_gate_needed(std::vector{limited("scp", OpType::Scp, TransferLimit::Both),
                                            limited("files", OpType::Sftp, TransferLimit::Both)}));
}

TEST(SftpPolicy, UploadOnlyEntryRefusesReadingAndAllowsWritingUnderItsPath) {
  EXPECT_TRUE(allowed(kWwwUpload, req(SftpAccess::Write, "open", {"/srv/www/index.html"})));
  EXPECT_TRUE(allowed(kWwwUpload, req(SftpAccess::Write, "mkdir", {"/srv/www/static"})));
  const auto read = sftp_refusal(kWwwUpload, req(SftpAccess::Read, "open", {"/srv/www/index.html"}));
  ASSERT_TRUE(read);
  EXPECT_EQ(*read, "open of '/srv/www/index.html' refused: entry 'www-up' allows upload only, under /srv/www/**");
  EXPECT_FALSE(allowed(kWwwUpload, req(SftpAccess::ReadWrite, "open", {"/srv/www/index.html"})));
}

TEST(SftpPolicy, DownloadOnlyEntryRefusesEveryChange) {
  EXPECT_TRUE(allowed(kLogsDownload, req(SftpAccess::Read, "open", {"/var/log/syslog.log"})));
  for (SftpAccess a : {SftpAccess::Write, SftpAccess::ReadWrite, SftpAccess::Remove}) {
    EXPECT_FALSE(allowed(kLogsDownload, req(a, "x", {"/var/log/syslog.log"})));
  }
  EXPECT_FALSE(allowed(kLogsDownload, req(SftpAccess::Rename, "rename", {"/var/log/a.log", "/var/log/b.log"})));
}

TEST(SftpPolicy, PathsOutsideThePatternAndDotDotEscapesAreRefused) {
  EXPECT_FALSE(allowed(kLogsDownload, req(SftpAccess::Read, "open", {"/etc/shadow"})));
  EXPECT_FALSE(allowed(kLogsDownload, req(SftpAccess::Read, "open", {"/var/log/nginx/access.log"})));
  EXPECT_FALSE(allowed(kLogsDownload, req(SftpAccess::Read, "open", {"/var/log/../../etc/shadow.log"})));
  EXPECT_FALSE(allowed(kWwwUpload, req(SftpAccess::Write, "open", {"/srv/www/../../etc/cron.d/x"})));
  EXPECT_FALSE(allowed(kWwwUpload, req(SftpAccess::Look, "stat", {"/etc"})));
  EXPECT_TRUE(allowed(kWwwUpload, req(SftpAccess::Look, "opendir", {"/srv/www"})));  // looking, either way
}

TEST(SftpPolicy, RelativePathsAreRefusedUnderAPathLimitWithAHint) {
  const auto why = sftp_refusal(kWwwUpload, req(SftpAccess::Write, "open", {"index.html"}));
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("'index.html' is a relative path: name the absolute path"), std::string::npos) << *why;
  EXPECT_FALSE(allowed(kWwwUpload, req(SftpAccess::Write, "open", {"~/srv/www/x"})));
  // Without a path limit the server resolves it, and that is allowed.
  EXPECT_TRUE(allowed(std::vector{limited("up", OpType::Sftp, TransferLimit::Upload)},
                      req(SftpAccess::Write, "open", {"index.html"})));
}

TEST(SftpPolicy, WhereTheLoginStartsAndServerLimitsAreAlwaysAnswered) {
  EXPECT_TRUE(allowed(kWwwUpload, req(SftpAccess::Home, "realpath", {"."})));
  EXPECT_TRUE(allowed(kLogsDownload, req(SftpAccess::Info, "limits@openssh.com")));
}

TEST(SftpPolicy, SymlinksMustPointInsideThePatternWhetherTheTargetIsAbsoluteOrRelative) {
  const std::vector<CatalogueEntry> both = {limited("www", OpType::Sftp, TransferLimit::Both, "/srv/www/**")};
  EXPECT_TRUE(allowed(both, req(SftpAccess::Symlink, "symlink", {"/srv/www/a.html", "/srv/www/b.html"})));
  EXPECT_TRUE(allowed(both, req(SftpAccess::Symlink, "symlink", {"a.html", "/srv/www/b.html"})));
  EXPECT_TRUE(allowed(both, req(SftpAccess::Symlink, "symlink", {"sub/a.html", "/srv/www/b.html"})));
  EXPECT_FALSE(allowed(both, req(SftpAccess::Symlink, "symlink", {"/etc/shadow", "/srv/www/s"})));
  EXPECT_FALSE(allowed(both, req(SftpAccess::Symlink, "symlink", {"../../etc/shadow", "/srv/www/s"})));
  EXPECT_FALSE(allowed(both, req(SftpAccess::Symlink, "symlink", {"/srv/www/a", "/tmp/s"})));
  EXPECT_FALSE(allowed(both, req(SftpAccess::Hardlink, "hardlink@openssh.com", {"/etc/shadow", "/srv/www/s"})));
  EXPECT_TRUE(allowed(both, req(SftpAccess::Hardlink, "hardlink@openssh.com", {"/srv/www/a", "/srv/www/b"})));
}

TEST(SftpPolicy, AnScpEntryNeverRemovesRenamesOrLinks) {
  const std::vector<CatalogueEntry> scp = {limited("scp", OpType::Scp, TransferLimit::Both)};
  EXPECT_TRUE(allowed(scp, req(SftpAccess::Write, "open", {"/tmp/x"})));
  EXPECT_TRUE(allowed(scp, req(SftpAccess::Read, "open", {"/tmp/x"})));
  EXPECT_TRUE(allowed(scp, req(SftpAccess::Write, "mkdir", {"/tmp/d"})));
  for (SftpAccess a : {SftpAccess::Remove, SftpAccess::Rename, SftpAccess::Symlink, SftpAccess::Hardlink}) {
    const auto why = sftp_refusal(scp, req(a, "x", {"/tmp/a", "/tmp/b"}));
    ASSERT_TRUE(why);
    EXPECT_NE(why->find("scp never removes, renames or links"), std::string::npos) << *why;
  }
}

TEST(SftpPolicy, AnyOneOfSeveralEntriesMayAllowARequest) {
  const std::vector<CatalogueEntry> two = {kWwwUpload[0], kLogsDownload[0]};
  EXPECT_TRUE(allowed(two, req(SftpAccess::Write, "open", {"/srv/www/a"})));
  EXPECT_TRUE(allowed(two, req(SftpAccess::Read, "open", {"/var/log/x.log"})));
  const auto why = sftp_refusal(two, req(SftpAccess::Read, "open", {"/srv/www/a"}));
  ASSERT_TRUE(why);
  EXPECT_EQ(*why, "open of '/srv/www/a' refused: entry 'www-up' allows upload only, under /srv/www/**; entry "
                  "'logs' allows only paths matching /var/log/*.log");
}

TEST(SftpPolicy, NulBytesAndTerminalControlsInPathsAreRefusedAndShownEscaped) {
  using namespace std::string_view_literals;
  const std::vector<CatalogueEntry> any = {limited("files", OpType::Scp, TransferLimit::Both)};
  EXPECT_FALSE(allowed(any, req(SftpAccess::Write, "open", {"/tmp/a\0/etc/passwd"sv})));
  const auto why = sftp_refusal(kWwwUpload, req(SftpAccess::Write, "open", {"/etc/\x1b[2J"}));
  ASSERT_TRUE(why);
  EXPECT_EQ(why->find('\x1b'), std::string::npos);
  EXPECT_NE(why->find("\\x1b"), std::string::npos);
}

TEST(SftpPolicy, AnEntryWithAStrayPatternAllowsNothing) {
  CatalogueEntry odd = limited("odd", OpType::Sftp, TransferLimit::Both);
  odd.pattern = "sideways";
  EXPECT_TRUE(sftp_gate_needed(std::vector{odd}));
  EXPECT_FALSE(allowed(std::vector{odd}, req(SftpAccess::Read, "open", {"/tmp/x"})));
}

}  // namespace
}  // namespace bastion::authz
