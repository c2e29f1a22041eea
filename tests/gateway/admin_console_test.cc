#include "gateway/admin_console.h"

#include <gtest/gtest.h>

namespace bastion::gateway {
namespace {

struct Recorder {
  std::vector<std::vector<std::string>> calls;
  AdminConsole::Runner runner() {
    return [this](const std::vector<std::string>& args, std::string& out) {
      calls.push_back(args);
      out += "ran " + args[0] + "\nline two\n";
      return 0;
    };
  }
};

TEST(AdminConsole, RunsATypedCommandWithEchoAndCrlf) {
  Recorder r;
  AdminConsole c("officer1", true, r.runner());
  EXPECT_NE(c.greeting().find("officer1@bastion> "), std::string::npos);
  std::string out = c.feed("grant list --json\r");
  ASSERT_EQ(r.calls.size(), 1u);
  EXPECT_EQ(r.calls[0], (std::vector<std::string>{"grant", "list", "--json"}));
  EXPECT_EQ(out, "grant list --json\r\nran grant\r\nline two\r\nofficer1@bastion> ");
}

TEST(AdminConsole, BackspaceCtrlUAndCtrlCEditTheLine) {
  Recorder r;
  AdminConsole c("o", true, r.runner());
  c.feed("grantx\x7f");
  c.feed(" list\r");
  ASSERT_EQ(r.calls.size(), 1u);
  EXPECT_EQ(r.calls[0], (std::vector<std::string>{"grant", "list"}));
  c.feed("rm -rf /\x15who-has-access web1\r");
  ASSERT_EQ(r.calls.size(), 2u);
  EXPECT_EQ(r.calls[1], (std::vector<std::string>{"who-has-access", "web1"}));
  std::string out = c.feed("grant revoke 3\x03");
  EXPECT_EQ(r.calls.size(), 2u);  // abandoned
  EXPECT_NE(out.find("^C"), std::string::npos);
}

TEST(AdminConsole, ArrowKeysAreDroppedNotTyped) {
  Recorder r;
  AdminConsole c("o", true, r.runner());
  c.feed("grant\x1b[A\x1b[D list\r");
  ASSERT_EQ(r.calls.size(), 1u);
  EXPECT_EQ(r.calls[0], (std::vector<std::string>{"grant", "list"}));
}

TEST(AdminConsole, ExitAndCtrlDFinish) {
  Recorder r;
  AdminConsole a("o", true, r.runner());
  a.feed("exit\r");
  EXPECT_TRUE(a.finished());
  AdminConsole b("o", true, r.runner());
  b.feed("gr\x04");  // Ctrl-D with text typed does not leave
  EXPECT_FALSE(b.finished());
  b.feed("\x15\x04");
  EXPECT_TRUE(b.finished());
  EXPECT_TRUE(r.calls.empty());
}

TEST(AdminConsole, WithoutTerminalReadsPlainLinesAndDoesNotEcho) {
  Recorder r;
  AdminConsole c("o", false, r.runner());
  std::string out = c.feed("grant list\r\nserver list\n");
  ASSERT_EQ(r.calls.size(), 2u);
  EXPECT_EQ(out, "ran grant\nline two\no@bastion> ran server\nline two\no@bastion> ");
}

TEST(AdminConsole, UnterminatedQuoteIsReportedNotRun) {
  Recorder r;
  AdminConsole c("o", false, r.runner());
  std::string out = c.feed("grant add --reason 'oops\n");
  EXPECT_TRUE(r.calls.empty());
  EXPECT_NE(out.find("bastion: "), std::string::npos);
}

TEST(AdminConsole, OverlongLinesAreCapped) {
  Recorder r;
  AdminConsole c("o", false, r.runner());
  c.feed(std::string(AdminConsole::kMaxLine + 100, 'a') + "\n");
  ASSERT_EQ(r.calls.size(), 1u);
  EXPECT_EQ(r.calls[0][0].size(), AdminConsole::kMaxLine);
}

}  // namespace
}  // namespace bastion::gateway
