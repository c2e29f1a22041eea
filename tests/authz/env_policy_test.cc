#include "authz/env_policy.h"

#include <gtest/gtest.h>

namespace bastion::authz {
namespace {

TEST(StrictLocale, AcceptsUtf8AndCLocalesOfTheDocumentedShape) {
  for (const char* v : {"C", "POSIX", "C.UTF-8", "C.utf8", "en_US.UTF-8", "de_DE.utf8", "ast_ES.UTF-8",
                        "ca_ES.UTF-8@valencia", "sr_RS.UTF-8@latin", "be_BY.utf8@tarask1"})
    EXPECT_TRUE(is_strict_locale(v)) << v;
}

TEST(StrictLocale, RefusesOtherCharsetsPathsAndLooseShapes) {
  for (const char* v : {"", "zh_TW.BIG5", "zh_CN.GBK", "ja_JP.SJIS", "ja_JP.eucJP", "zh_HK.BIG5-HKSCS",
                        "en_US", "en_US.ISO-8859-1", "/tmp/evil", "../../tmp/x.UTF-8", "en_US.UTF-8/x",
                        "EN_us.UTF-8", "e_US.UTF-8", "english_US.UTF-8", "en_USA.UTF-8", "en_US.UTF8",
                        "en_US.utf-8", "en_US.UTF-8@", "en_US.UTF-8@Euro", "en_US.UTF-8@a/b", "C.UTF-8 ",
                        "c", "en_US.UTF-8\n", "en_US.UTF-8@euro@x"})
    EXPECT_FALSE(is_strict_locale(v)) << v;
}

TEST(DecideEnv, DropsEverythingByDefault) {
  auto d = decide_env({{"FOO", "bar"}, {"BASH_ENV", "/tmp/evil"}, {"LD_PRELOAD", "/tmp/x.so"}}, {});
  EXPECT_TRUE(d.pass.empty());
  ASSERT_EQ(d.dropped.size(), 3u);
  EXPECT_EQ(d.dropped[0].name, "FOO");
  EXPECT_EQ(d.dropped[0].why, "not on the server's allow-list");
  EXPECT_EQ(d.dropped[1].value, "/tmp/evil");
}

TEST(DecideEnv, LocaleVariablesPassOnlyWithAStrictValue) {
  auto d = decide_env({{"LANG", "en_US.UTF-8"}, {"LC_ALL", "zh_TW.BIG5"}, {"LC_CTYPE", "C.UTF-8"},
                       {"LC_MESSAGES", "/tmp/x"}},
                      {});
  ASSERT_EQ(d.pass.size(), 2u);
  EXPECT_EQ(d.pass[0], (EnvRequest{"LANG", "en_US.UTF-8"}));
  EXPECT_EQ(d.pass[1], (EnvRequest{"LC_CTYPE", "C.UTF-8"}));
  ASSERT_EQ(d.dropped.size(), 2u);
  EXPECT_EQ(d.dropped[0].name, "LC_ALL");
  EXPECT_EQ(d.dropped[0].why, "not a UTF-8 or C locale");
}

TEST(DecideEnv, AllowListingALocaleNameDoesNotLoosenItsValueRule) {
  auto d = decide_env({{"LC_ALL", "zh_TW.BIG5"}}, {"LC_ALL"});
  EXPECT_TRUE(d.pass.empty());
  EXPECT_EQ(d.dropped.size(), 1u);
}

TEST(DecideEnv, AllowListedNamesPassWithAPlainValue) {
  auto d = decide_env({{"FOO", "hello world"}, {"FOO", "a\x1b[2Jb"}, {"FOO", std::string(257, 'x')}, {"BAR", "1"}},
                      {"FOO"});
  ASSERT_EQ(d.pass.size(), 1u);
  EXPECT_EQ(d.pass[0].second, "hello world");
  ASSERT_EQ(d.dropped.size(), 3u);
  EXPECT_EQ(d.dropped[0].value, "a\\x1b[2Jb");  // escaped for the event
  EXPECT_NE(d.dropped[0].why.find("control byte"), std::string::npos);
  EXPECT_EQ(d.dropped[1].value, std::string(kEnvShownValueBytes, 'x') + "…");  // truncated for the event
  EXPECT_EQ(d.dropped[2].name, "BAR");
}

TEST(DecideEnv, AnUnsafeNameOnAnEditedAllowListIsStillDropped) {
  auto d = decide_env({{"BASH_ENV", "/tmp/evil"}, {"LD_PRELOAD", "x"}, {"PATH", "/tmp"}},
                      {"BASH_ENV", "LD_PRELOAD", "PATH"});
  EXPECT_TRUE(d.pass.empty());
  ASSERT_EQ(d.dropped.size(), 3u);
  EXPECT_EQ(d.dropped[0].why, "in the unsafe set");
}

TEST(DecideEnv, DroppedNamesAreEscapedForTheEvent) {
  auto d = decide_env({{"BASH_FUNC_x%%", "() { id; }"}, {"A\x1b]0;pwn\x07", "v"}}, {});
  ASSERT_EQ(d.dropped.size(), 2u);
  EXPECT_EQ(d.dropped[0].name, "BASH_FUNC_x%%");
  EXPECT_EQ(d.dropped[1].name, "A\\x1b]0;pwn\\x07");
}

TEST(UnallowableEnvName, RefusesTheUnsafeSetAndItsFamilies) {
  for (const char* n : {"BASH_ENV", "ENV", "PATH", "SHELL", "IFS", "PS4", "PROMPT_COMMAND", "LD_PRELOAD",
                        "LD_LIBRARY_PATH", "ld_preload", "BASH_FUNC_foo%%", "f()", "LOCPATH", "GCONV_PATH",
                        "NLSPATH", "HOSTALIASES", "TZ", "PYTHONSTARTUP", "PYTHONPATH", "PERL5OPT", "PERL5LIB",
                        "RUBYOPT", "NODE_OPTIONS", "SYSTEMD_PAGER", "PAGER", "GIT_PAGER", "LESSOPEN", "EDITOR",
                        "GLIBC_TUNABLES", "TERM", "SSH_AUTH_SOCK", "", "1FOO", "A=B", "A B",
                        "LONG_NAME_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"})
    EXPECT_TRUE(unallowable_env_name(n).has_value()) << n;
}

TEST(UnallowableEnvName, RefusesLocaleNamesWhichHaveTheirOwnRule) {
  auto why = unallowable_env_name("LC_ALL");
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("locale"), std::string::npos);
  EXPECT_TRUE(unallowable_env_name("LANG"));
}

TEST(UnallowableEnvName, AcceptsOrdinaryNames) {
  for (const char* n : {"FOO", "APP_MODE", "DEPLOY_ENV_NAME", "x1"}) EXPECT_FALSE(unallowable_env_name(n)) << n;
}

TEST(TerminalName, KeepsOrdinaryNamesAndRefusesOthers) {
  for (const char* t : {"xterm", "xterm-256color", "screen.xterm-256color", "rxvt-unicode+x", "vt100"})
    EXPECT_EQ(terminal_name(t), std::string(t));
  const std::string too_long(65, 'x');
  for (const std::string& t : {std::string(), std::string("../../tmp/evil"), std::string("/tmp/x"), std::string("xterm;id"),
                               std::string("xterm\x1b"), std::string("a b"), too_long})
    EXPECT_FALSE(terminal_name(t)) << t;
}

}  // namespace
}  // namespace bastion::authz
