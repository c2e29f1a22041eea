// Tests for authz/shell_words.cc: the quoting the target's shell reads back as exactly the words the
// bastion matched (by the bastion's own parser and by real dash and bash), and the UTF-8 check.
#include "authz/shell_words.h"

#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
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

// A real POSIX shell reads serialise_argv's line as exactly the words (the property the fuzz target
// checks against split_command_line, checked here against the shells a target runs the line with):
// dash as /bin/sh, bash in the C and C.UTF-8 locales and in POSIX mode. Each case becomes
// `set -- LINE` followed by `printf '%s\0' "$#" "$@"` in one script, so the shell's own parse of
// LINE is what comes back, NUL-separated.
class RealShell : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "bastion-shell-words-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // words_read_by runs `argv_prefix SCRIPT` with `env`, the script setting and printing each line of
  // `lines`; returns, per line, the words the shell passed to printf.
  std::vector<Words> words_read_by(const std::vector<std::string>& shell, const std::vector<std::string>& env,
                                   const std::vector<std::string>& lines) {
    const std::string script = dir_ + "/script.sh";
    {
      std::ofstream out(script, std::ios::binary);
      for (const std::string& line : lines) out << "set -- " << line << "\nprintf '%s\\0' \"$#\" \"$@\"\n";
    }
    std::vector<std::string> argv = shell;
    argv.push_back(script);
    const std::string output = run_capturing(argv, env);
    std::vector<std::string> fields;
    std::size_t start = 0;
    for (std::size_t nul; (nul = output.find('\0', start)) != std::string::npos; start = nul + 1) {
      fields.push_back(output.substr(start, nul - start));
    }
    std::vector<Words> out;
    for (std::size_t i = 0; i < fields.size();) {
      const std::size_t n = std::stoul(fields[i++]);
      if (i + n > fields.size()) break;
      out.emplace_back(fields.begin() + static_cast<std::ptrdiff_t>(i),
                       fields.begin() + static_cast<std::ptrdiff_t>(i + n));
      i += n;
    }
    return out;
  }

  // run_capturing: the program's standard output; fails the test if it does not exit 0.
  static std::string run_capturing(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addclose(&actions, fds[1]);
    std::vector<char*> args, envp;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    pid_t pid = 0;
    const int spawned = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    std::string out;
    char buf[65536];
    for (ssize_t n; spawned == 0 && (n = ::read(fds[0], buf, sizeof buf)) != 0;) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    EXPECT_EQ(spawned, 0) << argv[0] << ": " << std::strerror(spawned);
    if (spawned != 0) return out;
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << argv[0] << " ended with status " << status;
    return out;
  }

  // expect_every_shell_reads: for each shell, the words read back from serialise_argv(argv) are argv.
  void expect_every_shell_reads(const std::vector<Words>& cases) {
    std::vector<std::string> lines;
    for (const Words& argv : cases) lines.push_back(serialise_argv(argv));
    const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> shells = {
        {{"/bin/dash"}, {"LC_ALL=C.UTF-8"}},
        {{"/bin/bash"}, {"LC_ALL=C"}},
        {{"/bin/bash"}, {"LC_ALL=C.UTF-8"}},
        {{"/bin/bash", "--posix"}, {"LC_ALL=C.UTF-8"}},
    };
    for (const auto& [shell, env] : shells) {
      const std::string who = ::testing::PrintToString(shell) + " " + env[0];
      const auto read = words_read_by(shell, env, lines);
      ASSERT_EQ(read.size(), cases.size()) << who << " stopped early";
      for (std::size_t i = 0; i < cases.size(); ++i) {
        EXPECT_EQ(read[i], cases[i]) << who << " read the line differently: " << lines[i];
      }
    }
  }

  std::string dir_;
};

// random_argv: up to 6 words, each up to 10 pieces drawn from what a shell treats specially, plain
// letters, and multibyte UTF-8 (a no-break space, an ideographic space, a CJK character, an emoji).
Words random_argv(std::mt19937& rng) {
  static const std::vector<std::string> pieces = {
      "'", "\"", "\\", "$", "`", "{", "}", ",", "*", "?", "[", "]", "~", "#", ";", "|", "&", "<", ">", "(", ")",
      " ", "\t", "\n", "!", "=", "%", "^", "a", "Z", "-", "--", "/", ".", "..", "$(", "${", "'\\''", "$'",
      "\xc3\xa9", "\xc2\xa0", "\xe3\x80\x80", "\xe6\x97\xa5", "\xf0\x9f\x98\x80", "\xa5\\"};
  std::uniform_int_distribution<std::size_t> words(1, 6), length(0, 10), piece(0, pieces.size() - 1);
  Words argv(words(rng));
  for (std::string& w : argv) {
    for (std::size_t n = length(rng); n > 0; --n) w += pieces[piece(rng)];
  }
  return argv;
}

TEST_F(RealShell, ReadsEverySerialisedArgvAsTheSameWords) {
  std::vector<Words> cases = {
      {"find", "/var/log", "-name", "{x,-o,-exec,touch,/tmp/pwned,;}", "-print"},
      {"echo", "", "a b", "it's", "''", "\\", "\"", "$", "HOME", "#", "~root", "*"},
      {"tail", "-n", "{1,/etc/shadow}", "/var/log/dpkg.log"},
      {"x", "\t", "caf\xc3\xa9", "\n", "line\nbreak", "-", "--", "!!", "$((1+1))"},
  };
  std::mt19937 rng(20261205);
  for (int i = 0; i < 3000; ++i) cases.push_back(random_argv(rng));
  expect_every_shell_reads(cases);
}

// Every accepted command line of the operation fuzz target's seed corpus ("<pattern>\0<line>", or a
// whole file that is both): what the bastion sends upstream is what a real shell hands the program.
TEST_F(RealShell, ReadsWhatIsSentUpstreamForTheFuzzCorpusAsTheMatchedWords) {
  std::vector<Words> cases;
  for (const auto& entry : std::filesystem::directory_iterator(BASTION_OPERATION_CORPUS_DIR)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string input{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const std::size_t nul = input.find('\0');
    const std::string command = nul == std::string::npos ? input : input.substr(nul + 1);
    auto op = classify_exec(command);
    if (!op.ok()) continue;
    ASSERT_EQ(op->upstream_command, serialise_argv(op->argv)) << entry.path();
    cases.push_back(op->argv);
  }
  ASSERT_GE(cases.size(), 5u) << "the corpus at " << BASTION_OPERATION_CORPUS_DIR << " gave too few accepted lines";
  expect_every_shell_reads(cases);
}

}  // namespace
}  // namespace bastion::authz
