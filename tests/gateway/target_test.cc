// Tests for gateway/target.cc: user names ("alice", "alice+root+web1") and command targets
// ("root@web1 cmd…") — the valid forms, and a large table of malformed ones.
#include "gateway/target.h"

#include <gtest/gtest.h>

#include <string>

namespace bastion::gateway {
namespace {

TEST(ParseUser, AcceptsAnOperatorAlone) {
  for (const char* name : {"alice", "_svc", "a", "bob.smith", "ops-1", "x_y.z-9"}) {
    auto r = parse_user(name);
    ASSERT_TRUE(r.ok()) << name << ": " << r.error().message;
    EXPECT_EQ(r->operator_name, name);
    EXPECT_FALSE(r->target.has_value());
  }
}

TEST(ParseUser, AcceptsOperatorLoginServer) {
  auto r = parse_user("alice+root+web1");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->operator_name, "alice");
  ASSERT_TRUE(r->target.has_value());
  EXPECT_EQ(r->target->login, "root");
  EXPECT_EQ(r->target->server, "web1");

  auto r2 = parse_user("bob.smith+Deploy_User.1+db-01.eu.example.com");
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  EXPECT_EQ(r2->target->login, "Deploy_User.1");
  EXPECT_EQ(r2->target->server, "db-01.eu.example.com");
}

TEST(ParseUser, AcceptsNamesAtTheirMaximumLength) {
  const std::string op = "a" + std::string(31, 'b');
  const std::string login = "r" + std::string(31, 'o');
  const std::string server = "w" + std::string(62, 'e');
  auto r = parse_user(op + "+" + login + "+" + server);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->operator_name, op);
  EXPECT_EQ(r->target->login, login);
  EXPECT_EQ(r->target->server, server);
}

struct Bad {
  std::string input;
  std::string message_part;  // the error must say this, so a person can fix the input
};

TEST(ParseUser, RefusesMalformedNamesSayingWhy) {
  const Bad cases[] = {
      {"", "user name is empty"},
      {"alice+root", "target 'alice+root' must be operator+login+server"},
      {"a+b+c+d", "must be operator+login+server"},
      {"a+b+c+d+e", "must be operator+login+server"},
      {"alice+", "must be operator+login+server"},
      {"a++b", "has an empty part"},
      {"+root+web1", "has an empty part"},
      {"alice+root+", "has an empty part"},
      {"++", "has an empty part"},
      {"Alice", "operator 'Alice' is not a valid operator name"},
      {"1alice", "is not a valid operator name"},
      {"-alice", "is not a valid operator name"},
      {".alice", "is not a valid operator name"},
      {"al ice", "is not a valid operator name"},
      {"alice@web1", "is not a valid operator name"},
      {"alice;ls", "is not a valid operator name"},
      {"a" + std::string(32, 'b'), "is not a valid operator name"},
      {"alice+-oProxyCommand=x+web1", "login '-oProxyCommand=x' is not a valid login name"},
      {"alice+.root+web1", "is not a valid login name"},
      {"alice+ro ot+web1", "is not a valid login name"},
      {"alice+root@x+web1", "is not a valid login name"},
      {"alice+r" + std::string(32, 'o') + "+web1", "is not a valid login name"},
      {"alice+root+-web1", "server '-web1' is not a valid server name"},
      {"alice+root+.web1", "is not a valid server name"},
      {"alice+root+_web1", "is not a valid server name"},
      {"alice+root+web_1", "is not a valid server name"},
      {"alice+root+web1;ls", "is not a valid server name"},
      {"alice+root+web1:22", "is not a valid server name"},
      {"alice+root+web1/x", "is not a valid server name"},
      {"alice+root+w" + std::string(63, 'e'), "is not a valid server name"},
      {std::string("alice\0+root+web1", 16), "contains a control character"},
      {"alice\n", "contains a control character"},
      {"alice\t", "contains a control character"},
      {"alice+root+web1\r", "contains a control character"},
      {"\x1b[2Jalice", "contains a control character"},
      {"alice\x7f", "contains a control character"},
      {"al\xc3\xaf" "ce", "contains a non-ASCII byte"},
      {"alice+r\xd0\xbeot+web1", "contains a non-ASCII byte"},  // Cyrillic o
      {"alice+root+web\xef\xbc\x91", "contains a non-ASCII byte"},  // full-width 1
      {std::string(200, 'a'), "is longer than"},
  };
  for (const auto& c : cases) {
    auto r = parse_user(c.input);
    ASSERT_FALSE(r.ok()) << "accepted '" << c.input << "'";
    EXPECT_NE(r.error().message.find(c.message_part), std::string::npos)
        << "input '" << c.input << "' gave: " << r.error().message;
  }
}

TEST(ParseUser, ErrorMessagesNeverEchoRawControlBytes) {
  for (const std::string& input : {std::string("a\x1b]0;x\x07"), std::string("a+b\x1b+c"), std::string("a\0b", 3)}) {
    auto r = parse_user(input);
    ASSERT_FALSE(r.ok());
    for (char c : r.error().message) {
      EXPECT_TRUE(static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f) << r.error().message;
    }
  }
}

TEST(ParseCommandTarget, AcceptsATargetAlone) {
  auto r = parse_command_target("root@web1");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->target.login, "root");
  EXPECT_EQ(r->target.server, "web1");
  EXPECT_EQ(r->command, "");
}

TEST(ParseCommandTarget, KeepsTheRestOfTheLineAsTheCommand) {
  struct Good { std::string line, login, server, command; };
  const Good cases[] = {
      {"root@web1 systemctl status nginx", "root", "web1", "systemctl status nginx"},
      {"root@web1   ls  -l ", "root", "web1", "ls  -l "},
      {"root@web1\tuptime", "root", "web1", "uptime"},
      {"  root@web1 uptime", "root", "web1", "uptime"},
      {"root@web1   ", "root", "web1", ""},
      {"deploy@db-01.example.com echo 'a;b'", "deploy", "db-01.example.com", "echo 'a;b'"},
      {"root@web1 ls; reboot", "root", "web1", "ls; reboot"},  // the command is judged later, by authz
      {"root@web1 ls caf\xc3\xa9", "root", "web1", "ls caf\xc3\xa9"},
  };
  for (const auto& c : cases) {
    auto r = parse_command_target(c.line);
    ASSERT_TRUE(r.ok()) << c.line << ": " << r.error().message;
    EXPECT_EQ(r->target.login, c.login) << c.line;
    EXPECT_EQ(r->target.server, c.server) << c.line;
    EXPECT_EQ(r->command, c.command) << c.line;
  }
}

TEST(ParseCommandTarget, RefusesMalformedTargetsSayingWhy) {
  const Bad cases[] = {
      {"", "command line is empty"},
      {"   ", "command line is empty"},
      {"root@", "has no server after '@'"},
      {"@web1", "has no login before '@'"},
      {"@", "has no login before '@'"},
      {"web1", "must be login@server"},
      {"root@web1@x", "must be login@server"},
      {"root@@web1", "must be login@server"},
      {"root@web1;ls", "server 'web1;ls' is not a valid server name"},
      {"root@web1&&ls", "is not a valid server name"},
      {"root@web1|ls", "is not a valid server name"},
      {"root@$(reboot)", "is not a valid server name"},
      {"-oProxyCommand=x@web1", "login '-oProxyCommand=x' is not a valid login name"},
      {"ro'ot@web1", "is not a valid login name"},
      {"root@-web1", "is not a valid server name"},
      {"root@web1\nreboot", "control character"},
      {std::string("root@web1\0 ls", 13), "control character"},
      {"root@web1 ls\x1b[2J", "control character"},
      {"r\xc3\xb6\xc3\xb6t@web1", "contains a non-ASCII byte"},
      {"root@w\xc3\xa9" "b1 ls", "contains a non-ASCII byte"},
      {"alice+root+web1", "must be login@server"},
      {"root@web1" + std::string(64 * 1024, 'x'), "longer than 64 KiB"},
  };
  for (const auto& c : cases) {
    auto r = parse_command_target(c.input);
    ASSERT_FALSE(r.ok()) << "accepted '" << c.input << "'";
    EXPECT_NE(r.error().message.find(c.message_part), std::string::npos)
        << "input '" << c.input << "' gave: " << r.error().message;
  }
}

TEST(ValidNames, FollowTheDocumentedAlphabets) {
  EXPECT_TRUE(valid_operator_name("_"));
  EXPECT_FALSE(valid_operator_name(""));
  EXPECT_FALSE(valid_operator_name("a" + std::string(32, 'b')));
  EXPECT_TRUE(valid_operator_name("a" + std::string(31, 'b')));
  EXPECT_TRUE(valid_login("0"));
  EXPECT_TRUE(valid_login("Root"));
  EXPECT_FALSE(valid_login("-root"));
  EXPECT_FALSE(valid_login("root+x"));
  EXPECT_TRUE(valid_server_name("10.0.0.5"));
  EXPECT_TRUE(valid_server_name("Web1"));
  EXPECT_FALSE(valid_server_name(""));
  EXPECT_FALSE(valid_server_name("w" + std::string(63, 'e')));
  EXPECT_FALSE(valid_server_name("[::1]"));
}

}  // namespace
}  // namespace bastion::gateway
