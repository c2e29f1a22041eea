// Tests for authz/transfer_command.cc: the scp and rsync server lines real clients send are
// transfers; anything that would make the server side do more (daemon mode, a remote shell, files
// outside the transfer, options after the paths) is refused with the word named.
#include "authz/transfer_command.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "authz/operation.h"

namespace bastion::authz {
namespace {

using Words = std::vector<std::string>;

std::optional<Result<TransferLine>> parse(std::string_view line) {
  auto argv = split_command_line(line);
  EXPECT_TRUE(argv.ok()) << line;
  return argv.ok() ? parse_transfer(*argv) : std::nullopt;
}

// What rsync 3.5.0's client (Debian 12) sent to a remote shell that printed its arguments, for the
// options named in each comment; and OpenSSH 9.2's scp -O.
TEST(ParseTransfer, AcceptsWhatRealClientsSend) {
  using D = TransferDirection;
  const struct {
    const char* line;
    OpType type;
    D direction;
    Words paths;
  } cases[] = {
      {"scp -t /tmp/x", OpType::Scp, D::Upload, {"/tmp/x"}},
      {"scp -r -p -t /tmp/x", OpType::Scp, D::Upload, {"/tmp/x"}},
      {"scp -v -f /tmp/x", OpType::Scp, D::Download, {"/tmp/x"}},
      {"scp -d -t /tmp/dir", OpType::Scp, D::Upload, {"/tmp/dir"}},
      {"scp -f /tmp/a b", OpType::Scp, D::Download, {"/tmp/a", "b"}},
      {"scp -f -- -weird-name", OpType::Scp, D::Download, {"-weird-name"}},
      // -av; -av --delete; -az; -aHAX
      {"rsync --server -vlogDtpre.iLsfxCIvu . /tmp/dst/", OpType::Rsync, D::Upload, {"/tmp/dst/"}},
      {"rsync --server --sender -vlogDtpre.iLsfxCIvu . /tmp/srcx/f", OpType::Rsync, D::Download, {"/tmp/srcx/f"}},
      {"rsync --server -vlogDtpre.iLsfxCIvu --delete . /tmp/dst/", OpType::Rsync, D::Upload, {"/tmp/dst/"}},
      {"rsync --server -logDtprze.iLsfxCIvu . /tmp/dst/", OpType::Rsync, D::Upload, {"/tmp/dst/"}},
      {"rsync --server --sender -lHogDtpAXre.iLsfxCIvu . /a /b", OpType::Rsync, D::Download, {"/a", "/b"}},
      // --partial; -P; --inplace; --append; --bwlimit=100; --checksum; --numeric-ids; -i
      {"rsync --server -e.LsfxCIvu --partial . /d", OpType::Rsync, D::Upload, {"/d"}},
      {"rsync --server -e.LsfxCIvu --log-format=X --partial . /d", OpType::Rsync, D::Upload, {"/d"}},
      {"rsync --server --sender -e.LsfxCIvu --inplace . /s", OpType::Rsync, D::Download, {"/s"}},
      {"rsync --server -e.LsfxCIvu --append . /d", OpType::Rsync, D::Upload, {"/d"}},
      {"rsync --server -e.LsfxCIvu --bwlimit=100 . /d", OpType::Rsync, D::Upload, {"/d"}},
      {"rsync --server -ce.LsfxCIvu . /d", OpType::Rsync, D::Upload, {"/d"}},
      {"rsync --server -e.LsfxCIvu --numeric-ids . /d", OpType::Rsync, D::Upload, {"/d"}},
      {"rsync --server -e.LsfxCIvu --log-format=%i . /d", OpType::Rsync, D::Upload, {"/d"}},
      // --chown=a:b; --compress-level=3; --timeout=5; --mkpath; -B and -@ words; a versioned -e
      {"rsync --server -oge.LsfxCIvu --usermap=\\*:a --groupmap=\\*:b . /d", OpType::Rsync, D::Upload, {"/d"}},
      {"rsync --server -e.LsfxCIvu --compress-level=3 --timeout=5 --mkpath . /d", OpType::Rsync, D::Upload, {"/d"}},
      {"rsync --server --sender -B8192 -@-1 -e31.0iLsfxC . /s", OpType::Rsync, D::Download, {"/s"}},
  };
  for (const auto& c : cases) {
    auto t = parse(c.line);
    ASSERT_TRUE(t.has_value()) << c.line;
    ASSERT_TRUE(t->ok()) << c.line << ": " << t->error().message;
    EXPECT_EQ((*t)->type, c.type) << c.line;
    EXPECT_EQ((*t)->direction, c.direction) << c.line;
    EXPECT_EQ((*t)->paths, c.paths) << c.line;
  }
}

TEST(ParseTransfer, RefusesWhatWouldMakeTheServerSideDoMore) {
  const struct {
    const char* line;
    const char* says;
  } cases[] = {
      {"rsync --server --daemon --config=/tmp/evil.conf . x #", "--daemon"},
      {"rsync --server --config=/tmp/evil.conf . x", "--config"},
      {"rsync --server -M--log-file=/x . /d", "-M"},
      {"rsync --server --dparam=x . /d", "--dparam"},
      {"rsync --server -e /bin/sh . /d", "-e"},
      {"rsync --server -vle/bin/sh . /d", "-e"},
      {"rsync --server --rsh=/bin/sh . /d", "--rsh"},
      {"rsync --server --rsync-path=/tmp/x . /d", "--rsync-path"},
      {"rsync --server --log-file=/etc/cron.d/x . /d", "--log-file"},
      {"rsync --server --write-batch=/tmp/b . /d", "--write-batch"},
      {"rsync --server --read-batch=/tmp/b . /d", "--read-batch"},
      {"rsync --server --sender --only-write-batch=X . /d", "--only-write-batch"},
      {"rsync --server -e.LsfxCIvu --temp-dir /tmp/t . /d", "--temp-dir"},
      {"rsync --server -vT/tmp/t . /d", "-T"},
      {"rsync --server -blogDtpre.iLsfxCIvu --backup-dir /tmp/bk . /d", "--backup-dir"},
      {"rsync --server -e.LsfxCIvu --partial-dir .p . /d", "--partial-dir"},
      {"rsync --server -e.LsfxCIvu --link-dest /etc . /d", "--link-dest"},
      {"rsync --server -e.LsfxCIvu --compare-dest=/etc . /d", "--compare-dest"},
      {"rsync --server -e.LsfxCIvu --copy-dest=/etc . /d", "--copy-dest"},
      {"rsync --server --sender -e.LsfxCIvu --files-from=- --from0 . /s", "--files-from"},
      {"rsync --server --exclude-from=/etc/x . /d", "--exclude-from"},
      {"rsync --server --sender -Le.LsfxCIvu . /s", "-L"},
      {"rsync --server --sender --copy-unsafe-links . /s", "--copy-unsafe-links"},
      {"rsync --server -se.LsfxCIvu", "-s"},
      {"rsync --server --sender -se.LsfxCIvu . /s", "-s"},
      {"rsync --server --iconv=utf8 . /d", "--iconv"},
      {"rsync --server --suffix=/../x . /d", "--suffix"},
      {"rsync --server --bwlimit 100 . /d", "--bwlimit=VALUE"},
      {"rsync --server --timeout=soon . /d", "number"},
      {"rsync --server --frobnicate . /d", "--frobnicate"},
      {"rsync --server -r . --sender", "starts with '-'"},
      {"rsync --server -r . /d --log-file=/x", "starts with '-'"},
      {"rsync --server -r . /d #", "'#'"},
      {"rsync --server -r . #/d", "'#'"},
      {"rsync --server -r /d", "lone \".\""},
      {"rsync --server -r .", "no path"},
      {"rsync --server -r x . /d", "before the lone"},
      {"rsync --server -r -- . /d", "`--`"},
      {"rsync --server -r . /d; id", "metacharacter"},
      {"rsync --daemon --config=/tmp/x", "rsync --server"},
      {"/usr/bin/rsync --server -r . /d", "named `rsync`"},
      {"scp -x -t /tmp", "-x"},
      {"scp -q -t /tmp", "-q"},
      {"scp -tf x", "exactly one of -t"},
      {"scp -t", "no path"},
      {"scp -t a b", "exactly one destination"},
      {"scp -f /a -r", "after a path"},
      {"scp -t /tmp #x", "'#'"},
      {"scp -t /tmp && reboot", "metacharacter"},
      {"/usr/bin/scp -t /tmp", "named `scp`"},
  };
  for (const auto& c : cases) {
    auto t = parse(c.line);
    ASSERT_TRUE(t.has_value()) << c.line << " was not seen as a transfer attempt";
    ASSERT_FALSE(t->ok()) << c.line << " was accepted";
    EXPECT_NE(t->error().message.find(c.says), std::string::npos) << c.line << ": " << t->error().message;
  }
}

TEST(ParseTransfer, OtherLinesAreNoTransferAttempt) {
  for (const char* line : {"rsync --version", "rsync -av a b", "scp a b", "scp", "systemctl status ssh", "scpx -t /tmp"}) {
    EXPECT_FALSE(parse(line).has_value()) << line;
  }
}

}  // namespace
}  // namespace bastion::authz
