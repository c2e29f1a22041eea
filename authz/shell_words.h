#pragma once
// Shell words: how the bastion renders an argument vector for the target's login shell. The target
// runs the command line through `$SHELL -c`, so whatever the bastion sends is parsed once more by a
// shell the bastion does not control (bash, dash, zsh; any locale the target allows). Sending the
// operator's own line would make that second parse decide what runs; sending every word single-quoted
// leaves the shell nothing to expand: no braces, globs, tilde, comments, $… or `…`.
#include <string>
#include <string_view>
#include <vector>

namespace bastion::authz {

// shell_quote returns word as one POSIX shell word: wrapped in single quotes, each ' inside written
// as '\'' (close, escaped quote, reopen). The empty word is ''.
std::string shell_quote(std::string_view word);

// serialise_argv joins the quoted words with single spaces. For every argv that split_command_line
// produced, split_command_line(serialise_argv(argv)) == argv, and a POSIX shell reading the line
// hands the program exactly argv (tests/fuzz/operation_fuzz.cc checks the first; the RealShell tests
// in tests/authz/shell_words_test.cc check the second with dash and bash).
std::string serialise_argv(const std::vector<std::string>& argv);

// is_valid_utf8: well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above
// U+10FFFF). Bytes that are not are how a multibyte locale on the target (BIG5, GBK, SJIS) reads a
// quote or backslash as part of a character; exec lines must be valid UTF-8.
bool is_valid_utf8(std::string_view s);

}  // namespace bastion::authz
