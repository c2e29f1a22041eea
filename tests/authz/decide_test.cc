// Tests for authz/decide.cc: the window edges, revocation, account and server refusals, catalogue
// subsets, choice among several grants, and the wording of every refusal.
#include "authz/decide.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace bastion::authz {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

// 2026-11-23 10:02:00 UTC and 2026-11-23 14:02:00 UTC: grant 17's window.
const Seconds kStart = from_unix(1795428120);
const Seconds kEnd = from_unix(1795442520);
const Seconds kMidday = from_unix(1795437000);  // 2026-11-23 12:30:00 UTC, inside the window
constexpr std::int64_t kWeb1 = 10;

Operator alice() { return Operator{1, "alice", Role::Operator, "", false, "SECRET"}; }

Server web1(ServerKind kind = ServerKind::Dedicated) {
  return Server{kWeb1, "web1", "10.0.0.5", 22, "acme", kind, "ssh-ed25519 AAAA", {}};
}

CatalogueEntry entry(std::int64_t id, std::string name, OpType type, std::string pattern = "",
                     std::int64_t server_id = kWeb1) {
  return CatalogueEntry{id, server_id, std::move(name), type, std::move(pattern), TransferLimit::Both, ""};
}

// transfer: an scp/rsync/sftp entry limited to a direction and (if not empty) a path pattern.
CatalogueEntry transfer(std::int64_t id, std::string name, OpType type, TransferLimit direction,
                        std::string path = "") {
  CatalogueEntry e = entry(id, std::move(name), type);
  e.direction = direction;
  e.path = std::move(path);
  return e;
}

std::vector<CatalogueEntry> catalogue() {
  return {
      entry(1, "shell", OpType::Shell),
      entry(2, "status", OpType::Exec, "systemctl status *"),
      entry(3, "restart", OpType::Exec, "systemctl restart nginx"),
      entry(4, "files", OpType::Sftp),
      transfer(5, "upload", OpType::Scp, TransferLimit::Upload),
      transfer(6, "download", OpType::Scp, TransferLimit::Download),
      entry(7, "scp", OpType::Scp, ""),
      transfer(8, "rsync-down", OpType::Rsync, TransferLimit::Download),
      entry(9, "rsync", OpType::Rsync, ""),
      entry(10, "db", OpType::Forward, "127.0.0.1:5432"),
      entry(11, "v6", OpType::Forward, "[::1]:8080"),
  };
}

Grant grant(std::int64_t id, std::vector<std::string> ops, Seconds from = kStart, Seconds until = kEnd) {
  Grant g;
  g.id = id;
  g.operator_id = 1;
  g.operator_name = "alice";
  g.server_id = kWeb1;
  g.server_name = "web1";
  g.login = "root";
  g.ops = std::move(ops);
  g.not_before = from;
  g.not_after = until;
  g.reason = "INC-42";
  g.granted_by = "olivia";
  g.created_at = from - hours{1};
  return g;
}

// Scenario holds everything a DecisionInput points at, so each test states only what differs.
struct Scenario {
  Operator who = alice();
  Server server = web1();
  std::string login = "root";
  std::vector<Grant> grants = {grant(17, {"status", "shell"})};
  std::vector<CatalogueEntry> entries = catalogue();
  FixedClock clock{kMidday};

  Decision run(const Operation* op = nullptr) const {
    return decide(DecisionInput{who, server, login, op, grants, entries, clock.now()});
  }
  Decision run(const Operation& op) const { return run(&op); }
};

Operation exec(std::string_view line) {
  auto op = classify_exec(line);
  EXPECT_TRUE(op.ok()) << line;
  return op.ok() ? *op : Operation{};
}

// Helpers that fail the test with the actual outcome when it is not the expected kind.
Allow expect_allow(const Decision& d) {
  if (const auto* deny = std::get_if<Deny>(&d)) ADD_FAILURE() << "denied: " << deny->reason;
  return std::holds_alternative<Allow>(d) ? std::get<Allow>(d) : Allow{};
}

std::string expect_deny(const Decision& d) {
  if (const auto* allow = std::get_if<Allow>(&d)) ADD_FAILURE() << "allowed by grant " << allow->grant.id;
  return std::holds_alternative<Deny>(d) ? std::get<Deny>(d).reason : std::string{};
}

TEST(Decide, AllowsAtNotBefore) {
  Scenario s;
  s.clock.set(kStart);
  EXPECT_EQ(expect_allow(s.run()).grant.id, 17);
}

TEST(Decide, AllowsOneSecondBeforeNotAfter) {
  Scenario s;
  s.clock.set(kEnd - seconds{1});
  EXPECT_EQ(expect_allow(s.run()).grant.id, 17);
  const Operation op = Operation::shell();
  EXPECT_EQ(expect_allow(s.run(op)).op_name, "shell");
}

TEST(Decide, RefusesAtNotAfter) {
  Scenario s;
  s.clock.set(kEnd);
  EXPECT_EQ(expect_deny(s.run()), "grant 17 expired at 2026-11-23 14:02:00 UTC; ask a security officer for a new grant");
}

TEST(Decide, RefusesLongAfterNotAfter) {
  Scenario s;
  s.clock.set(kEnd + hours{24 * 30});
  EXPECT_NE(expect_deny(s.run()).find("grant 17 expired at 2026-11-23 14:02:00 UTC"), std::string::npos);
}

TEST(Decide, RefusesBeforeNotBefore) {
  Scenario s;
  s.clock.set(kStart - seconds{1});
  EXPECT_EQ(expect_deny(s.run()), "grant 17 is not valid before 2026-11-23 10:02:00 UTC");
}

TEST(Decide, RefusesRevokedGrant) {
  Scenario s;
  s.grants[0].revoked_at = kMidday - hours{1};
  EXPECT_EQ(expect_deny(s.run()),
            "grant 17 was revoked at 2026-11-23 11:30:00 UTC; ask a security officer for a new grant");
  const Operation op = Operation::shell();
  EXPECT_NE(expect_deny(s.run(op)).find("revoked"), std::string::npos);
}

TEST(Decide, RefusesRevokedGrantWhateverTheRecordedRevocationTime) {
  // A revocation stamped in the future (clock skew between bastions) still counts: fail closed.
  Scenario s;
  s.grants[0].revoked_at = kMidday + hours{1};
  EXPECT_NE(expect_deny(s.run()).find("grant 17 was revoked at 2026-11-23 13:30:00 UTC"), std::string::npos);
}

TEST(Decide, RefusesDisabledAccount) {
  Scenario s;
  s.who.disabled = true;
  EXPECT_EQ(expect_deny(s.run()), "account alice is disabled; ask a security officer to re-enable it");
}

TEST(Decide, RefusesOfficerProxiedAccess) {
  Scenario s;
  s.who.role = Role::Officer;
  const std::string reason = expect_deny(s.run());
  EXPECT_NE(reason.find("account alice is a security officer account"), std::string::npos) << reason;
}

TEST(Decide, RefusesClientReviewerProxiedAccess) {
  Scenario s;
  s.who.role = Role::Client;
  s.who.client = "acme";
  const Operation op = Operation::shell();
  const std::string reason = expect_deny(s.run(op));
  EXPECT_NE(reason.find("account alice is a client reviewer account"), std::string::npos) << reason;
}

TEST(Decide, RefusesSharedServerEvenWithGrant) {
  Scenario s;
  s.server = web1(ServerKind::Shared);
  EXPECT_EQ(expect_deny(s.run()), "web1 is a shared server: access to shared servers is never granted");
  const Operation op = Operation::shell();
  EXPECT_EQ(expect_deny(s.run(op)), "web1 is a shared server: access to shared servers is never granted");
}

TEST(Decide, RefusesWithoutAnyGrant) {
  Scenario s;
  s.grants.clear();
  EXPECT_EQ(expect_deny(s.run()), "no grant for alice as root on web1; ask a security officer for one");
}

TEST(Decide, RefusesWrongLogin) {
  Scenario s;
  s.login = "admin";
  EXPECT_EQ(expect_deny(s.run()), "no grant for alice as admin on web1; ask a security officer for one");
}

TEST(Decide, IgnoresGrantsOfOtherOperatorsOrServers) {
  // grants_for() should never return these; if it did, they must not open anything.
  Scenario s;
  s.grants[0].operator_id = 2;
  EXPECT_NE(expect_deny(s.run()).find("no grant for alice"), std::string::npos);
  s.grants[0].operator_id = 1;
  s.grants[0].server_id = 11;
  EXPECT_NE(expect_deny(s.run()).find("no grant for alice"), std::string::npos);
}

TEST(Decide, ConnectTimeCheckNeedsOnlyAnActiveGrant) {
  Scenario s;
  const Allow allow = expect_allow(s.run(nullptr));
  EXPECT_EQ(allow.grant.id, 17);
  EXPECT_EQ(allow.op_name, "");
}

TEST(Decide, AllowsExecMatchingAGrantedPattern) {
  Scenario s;
  const Allow allow = expect_allow(s.run(exec("systemctl status nginx")));
  EXPECT_EQ(allow.grant.id, 17);
  EXPECT_EQ(allow.op_name, "status");
}

TEST(Decide, RefusesOperationsOutsideTheGrantedSubset) {
  Scenario s;
  EXPECT_EQ(expect_deny(s.run(exec("systemctl restart nginx"))),
            "operation exec `systemctl restart nginx` is not allowed by grant 17 (allowed: status, shell)");
  EXPECT_EQ(expect_deny(s.run(Operation::sftp())),
            "operation sftp is not allowed by grant 17 (allowed: status, shell)");
  EXPECT_NE(expect_deny(s.run(Operation::forward("127.0.0.1", 5432))).find("forward to 127.0.0.1:5432"),
            std::string::npos);
}

TEST(Decide, RefusesInjectionBehindAnAllowedCommand) {
  Scenario s;
  s.grants[0].ops = {"status", "restart"};
  for (const char* line : {"systemctl status nginx; reboot", "systemctl restart nginx; rm -rf /",
                           "systemctl status $(reboot)", "systemctl status `reboot`"}) {
    EXPECT_NE(expect_deny(s.run(exec(line))).find("is not allowed by grant 17"), std::string::npos) << line;
  }
}

TEST(Decide, ScpEntriesAllowTheirDirectionOnly) {
  Scenario s;
  s.grants[0].ops = {"upload"};
  EXPECT_EQ(expect_allow(s.run(exec("scp -t /tmp/x"))).op_name, "upload");
  EXPECT_NE(expect_deny(s.run(exec("scp -f /etc/shadow"))).find("scp download"), std::string::npos);
  s.grants[0].ops = {"download"};
  EXPECT_EQ(expect_allow(s.run(exec("scp -f /etc/hosts"))).op_name, "download");
  expect_deny(s.run(exec("scp -t /tmp/x")));
  s.grants[0].ops = {"scp"};
  EXPECT_EQ(expect_allow(s.run(exec("scp -t /tmp/x"))).op_name, "scp");
  EXPECT_EQ(expect_allow(s.run(exec("scp -f /etc/hosts"))).op_name, "scp");
  expect_deny(s.run(exec("scp -t /tmp; reboot")));  // classified as exec, and no exec is granted
}

TEST(Decide, RsyncEntriesAllowTheirDirectionOnly) {
  Scenario s;
  s.grants[0].ops = {"rsync-down"};
  EXPECT_EQ(expect_allow(s.run(exec("rsync --server --sender -vlogDtpre.iLsfxC . /var/log/"))).op_name, "rsync-down");
  expect_deny(s.run(exec("rsync --server -vlogDtpre.iLsfxC . /etc/")));
  expect_deny(s.run(exec("scp -f /etc/hosts")));  // an rsync entry is not an scp entry
  s.grants[0].ops = {"rsync"};
  EXPECT_EQ(expect_allow(s.run(exec("rsync --server -vlogDtpre.iLsfxC . /etc/"))).op_name, "rsync");
}

TEST(Decide, PathLimitedTransfersStayUnderTheirPath) {
  Scenario s;
  s.entries.push_back(transfer(20, "www-up", OpType::Scp, TransferLimit::Upload, "/srv/www/**"));
  s.entries.push_back(transfer(21, "logs-down", OpType::Rsync, TransferLimit::Download, "/var/log/*.log"));
  s.grants[0].ops = {"www-up", "logs-down"};
  EXPECT_EQ(expect_allow(s.run(exec("scp -t /srv/www/"))).op_name, "www-up");
  EXPECT_EQ(expect_allow(s.run(exec("scp -r -t -- /srv/www/static"))).op_name, "www-up");
  expect_deny(s.run(exec("scp -t /etc/cron.d/")));
  expect_deny(s.run(exec("scp -t /srv/www/../../etc/cron.d")));
  expect_deny(s.run(exec("scp -f /srv/www/index.html")));  // the other direction
  EXPECT_EQ(expect_allow(s.run(exec("rsync --server --sender -logDtpre.iLsfxC . /var/log/syslog.log"))).op_name,
            "logs-down");
  expect_deny(s.run(exec("rsync --server --sender -logDtpre.iLsfxC . /var/log/syslog.log /etc/shadow")));
  expect_deny(s.run(exec("rsync --server --sender -logDtpre.iLsfxC . /var/log/nginx/access.log")));
  expect_deny(s.run(exec("rsync --server -logDtpre.iLsfxC . /var/log/x.log")));  // upload
}

TEST(Decide, SaysWhenTheAnyCommandEntryAllowedTheLine) {
  Scenario s;
  s.entries.push_back(entry(30, "any", OpType::Exec, "*"));
  s.grants[0].ops = {"any"};
  const Allow any = expect_allow(s.run(exec("journalctl | tail -n 5")));
  EXPECT_EQ(any.op_name, "any");
  EXPECT_TRUE(any.any_command);
  s.grants[0].ops = {"status"};
  EXPECT_FALSE(expect_allow(s.run(exec("systemctl status nginx"))).any_command);
}

TEST(Decide, PrefersANarrowEntryToTheAnyCommandOne) {
  Scenario s;
  s.entries.push_back(entry(30, "any", OpType::Exec, "*"));
  s.grants[0].ops = {"any", "status"};
  const Allow allow = expect_allow(s.run(exec("systemctl status nginx")));
  EXPECT_EQ(allow.op_name, "status");
  EXPECT_FALSE(allow.any_command);
  EXPECT_TRUE(expect_allow(s.run(exec("uptime"))).any_command);
}

TEST(Decide, AMalformedTransferLineIsNoExecANarrowPatternAllows) {
  Scenario s;
  // The pattern itself matches the words (each -* an option the officer wrote a place for) …
  s.entries.push_back(entry(30, "rsync-exec", OpType::Exec, "rsync -* -* -* . *"));
  s.entries.push_back(entry(31, "any", OpType::Exec, "*"));
  s.grants[0].ops = {"rsync-exec", "rsync"};
  const std::string daemon = "rsync --server --daemon --config=/tmp/evil.conf . x";
  ASSERT_TRUE(exec_pattern_matches("rsync -* -* -* . *", exec(daemon).argv));
  // … but a line that tries to be an rsync server side and breaks its grammar is not an exec.
  const std::string reason = expect_deny(s.run(exec(daemon)));
  EXPECT_NE(reason.find("rsync option --daemon is not allowed"), std::string::npos) << reason;
  // The explicit "any command" entry allowed everything, malformed transfers included.
  s.grants[0].ops = {"rsync-exec", "any"};
  EXPECT_TRUE(expect_allow(s.run(exec(daemon))).any_command);
}

TEST(Decide, ForwardNeedsTheExactHostAndPort) {
  Scenario s;
  s.grants[0].ops = {"db", "v6"};
  EXPECT_EQ(expect_allow(s.run(Operation::forward("127.0.0.1", 5432))).op_name, "db");
  EXPECT_EQ(expect_allow(s.run(Operation::forward("::1", 8080))).op_name, "v6");
  expect_deny(s.run(Operation::forward("127.0.0.1", 5433)));
  expect_deny(s.run(Operation::forward("localhost", 5432)));
  expect_deny(s.run(Operation::forward("127.0.0.10", 5432)));
}

TEST(Decide, SftpAndShellNeedTheirOwnEntries) {
  Scenario s;
  s.grants[0].ops = {"files"};
  EXPECT_EQ(expect_allow(s.run(Operation::sftp())).op_name, "files");
  expect_deny(s.run(Operation::shell()));
  expect_deny(s.run(exec("systemctl status nginx")));
}

TEST(Decide, AnScpEntryLetsOpenSshsSftpModeScpRunWithItsLimitsHandedOver) {
  Scenario s;
  s.entries.push_back(transfer(20, "www-up", OpType::Scp, TransferLimit::Upload, "/srv/www/**"));
  s.grants[0].ops = {"status", "www-up", "upload"};
  const Allow a = expect_allow(s.run(Operation::sftp()));
  EXPECT_EQ(a.op_name, "www-up");
  ASSERT_EQ(a.transfer_entries.size(), 2u);  // every scp/sftp entry of the grant, in its order
  EXPECT_EQ(a.transfer_entries[0].name, "www-up");
  EXPECT_EQ(a.transfer_entries[0].path, "/srv/www/**");
  EXPECT_EQ(a.transfer_entries[1].name, "upload");
  s.grants[0].ops = {"status", "rsync"};  // an rsync entry does not run SFTP
  expect_deny(s.run(Operation::sftp()));
}

TEST(Decide, ATransferEntryStillHoldingAnOldPatternAllowsNothing) {
  Scenario s;
  s.entries.push_back(entry(20, "odd", OpType::Scp, "sideways"));
  s.entries.push_back(entry(21, "odd-sftp", OpType::Sftp, "sideways"));
  s.grants[0].ops = {"odd", "odd-sftp"};
  expect_deny(s.run(exec("scp -t /tmp/x")));
  expect_deny(s.run(exec("scp -f /tmp/x")));
  expect_deny(s.run(Operation::sftp()));
}

TEST(Decide, IgnoresGrantedNamesMissingFromTheCatalogue) {
  Scenario s;
  s.grants[0].ops = {"ghost"};
  EXPECT_EQ(expect_deny(s.run(Operation::shell())),
            "operation shell is not allowed by grant 17 (allowed: ghost)");
}

TEST(Decide, IgnoresCatalogueEntriesOfAnotherServer) {
  Scenario s;
  s.entries = {entry(1, "shell", OpType::Shell, "", /*server_id=*/99)};
  s.grants[0].ops = {"shell"};
  expect_deny(s.run(Operation::shell()));
}

TEST(Decide, PicksAValidGrantAmongExpiredAndRevokedOnes) {
  Scenario s;
  Grant expired = grant(15, {"shell"}, kStart - hours{48}, kStart - hours{24});
  Grant revoked = grant(16, {"shell"});
  revoked.revoked_at = kStart;
  s.grants = {expired, revoked, grant(18, {"shell"})};
  EXPECT_EQ(expect_allow(s.run(Operation::shell())).grant.id, 18);
}

TEST(Decide, PicksTheMatchingGrantThatEndsLast) {
  Scenario s;
  s.grants = {grant(20, {"shell"}, kStart, kEnd), grant(21, {"shell"}, kStart, kEnd + hours{2}),
              grant(22, {"shell"}, kStart, kEnd + hours{1})};
  EXPECT_EQ(expect_allow(s.run(Operation::shell())).grant.id, 21);
  EXPECT_EQ(expect_allow(s.run()).grant.id, 21);
}

TEST(Decide, PicksTheGrantThatAllowsTheOperationEvenIfAnotherEndsLater) {
  Scenario s;
  s.grants = {grant(20, {"shell"}, kStart, kEnd + hours{5}), grant(21, {"status"}, kStart, kEnd)};
  const Allow allow = expect_allow(s.run(exec("systemctl status sshd")));
  EXPECT_EQ(allow.grant.id, 21);
  EXPECT_EQ(allow.op_name, "status");
}

TEST(Decide, RefusalListsEveryActiveGrantAndTheirOperations) {
  Scenario s;
  s.grants = {grant(20, {"shell", "status"}, kStart, kEnd + hours{1}), grant(21, {"status", "files"})};
  EXPECT_EQ(expect_deny(s.run(exec("systemctl restart nginx"))),
            "operation exec `systemctl restart nginx` is not allowed by grants 20, 21 (allowed: shell, status, files)");
}

TEST(Decide, RefusalNamesTheClosestInactiveGrant) {
  Scenario s;
  // Expired a week ago, and another that starts in an hour: the second is what alice waits for.
  s.grants = {grant(30, {"shell"}, kMidday - hours{24 * 8}, kMidday - hours{24 * 7}),
              grant(31, {"shell"}, kMidday + hours{1}, kMidday + hours{3})};
  EXPECT_EQ(expect_deny(s.run()), "grant 31 is not valid before 2026-11-23 13:30:00 UTC");
  // Now one that expired a minute ago is closer.
  s.grants.push_back(grant(32, {"shell"}, kMidday - hours{2}, kMidday - seconds{60}));
  EXPECT_EQ(expect_deny(s.run()),
            "grant 32 expired at 2026-11-23 12:29:00 UTC; ask a security officer for a new grant");
}

TEST(Decide, RevocationOfAnOpenWindowOutranksOtherInactiveGrants) {
  Scenario s;
  Grant revoked = grant(41, {"shell"});
  revoked.revoked_at = kMidday - seconds{10};
  s.grants = {grant(40, {"shell"}, kMidday - hours{2}, kMidday - seconds{1}), revoked};
  EXPECT_NE(expect_deny(s.run()).find("grant 41 was revoked"), std::string::npos);
}

TEST(Decide, RefusalEscapesControlBytesInTheCommand) {
  Scenario s;
  Operation op;
  op.type = OpType::Exec;
  op.command = "ls \x1b]0;pwned\x07";
  op.argv = {"ls", "\x1b]0;pwned\x07"};
  const std::string reason = expect_deny(s.run(op));
  EXPECT_EQ(reason.find('\x1b'), std::string::npos);
  EXPECT_NE(reason.find("\\x1b"), std::string::npos) << reason;
}

TEST(FormatUtc, RendersSecondsInUtc) {
  EXPECT_EQ(format_utc(from_unix(0)), "1970-01-01 00:00:00 UTC");
  EXPECT_EQ(format_utc(kEnd), "2026-11-23 14:02:00 UTC");
  EXPECT_EQ(format_utc(from_unix(1795510800)), "2026-11-24 09:00:00 UTC");
}

}  // namespace
}  // namespace bastion::authz
