// Tests for authz/shell_words.cc: the quoting the target's shell reads back as exactly the words the
// bastion matched, and the UTF-8 check.
#include "authz/shell_words.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "authz/operation.h"

namespace bastion::authz {
namespace {

using Words = std::vector<std::string>;

TEST(ShellQuote, WrapsEveryWordInSingleQuotes) {
  EXPECT_EQ(shell_quote("ls"), "'ls'");
  EXPECT_EQ(shell_quote(""), "''");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote("'"), "''\\'''");
  EXPECT_EQ(shell_quote("$(id) `id` {a,b} ~ * # \\ \" ;"), "'$(id) `id` {a,b} ~ * # \\ \" ;'");
}

TEST(SerialiseArgv, SplitsBackToTheSameWords) {
  const Words cases[] = {
      {"find", "/var/log", "-name", "{x,-o,-exec,touch,/tmp/pwned,;}", "-print"},
      {"echo", "", "a b", "it's", "''", "\\", "\"", "$", "HOME", "#", "~root", "*"},
      {"tail", "-n", "{1,/etc/shadow}", "/var/log/dpkg.log"},
      {"x", "\t", "caf\xc3\xa9"},
  };
  for (const Words& argv : cases) {
    const std::string line = serialise_argv(argv);
    auto back = split_command_line(line);
    ASSERT_TRUE(back.ok()) << line;
    EXPECT_EQ(*back, argv) << line;
  }
  EXPECT_EQ(serialise_argv({"systemctl", "status", "ssh"}), "'systemctl' 'status' 'ssh'");
}

TEST(IsValidUtf8, AcceptsWellFormedTextOnly) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80"));
  EXPECT_TRUE(is_valid_utf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF
  for (const char* bad : {"\xa5\\;", "\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                          "\xf8\x88\x80\x80\x80", "\xff", "a\x80"}) {
    EXPECT_FALSE(is_valid_utf8(bad)) << bad;
  }
}

}  // namespace
}  // namespace bastion::authz
