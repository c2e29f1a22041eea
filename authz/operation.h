#pragma once
// Operation: what a channel request asks to do, classified from untrusted bytes (the exec command
// line, the subsystem name, a direct-tcpip destination) so that decide() can match it against a
// catalogue.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authz/model.h"
#include "authz/result.h"
#include "authz/transfer_command.h"

namespace bastion::authz {

struct Operation {
  OpType type = OpType::Shell;
  std::vector<std::string> argv;  // exec/scp/rsync: the parsed argument vector
  std::string command;            // exec/scp/rsync: the raw command line, as the operator typed it
  // exec/scp/rsync: what the target is sent, serialise_argv(argv): exactly the words that were
  // matched. Only the explicit "any command" entry sends `command` instead (Allow::any_command).
  std::string upstream_command;
  TransferDirection direction = TransferDirection::None;  // scp and rsync
  // scp and rsync: the paths on the server the transfer reads or writes, as the server side will
  // use them (scp: every path after the options; rsync: every argument after the lone ".").
  std::vector<std::string> paths;
  // exec: set when the line is an attempt at an scp or rsync server side that breaks their grammar
  // (parse_transfer's message, e.g. "rsync option --daemon is not allowed …"). Such a line is allowed
  // by no entry but the "any command" one, whatever an exec pattern says.
  std::string transfer_refusal;
  std::string forward_host;       // forward
  int forward_port = 0;           // forward

  static Operation shell() { return Operation{}; }
  static Operation sftp() { Operation o; o.type = OpType::Sftp; return o; }
  static Operation forward(std::string host, int port);
};

// split_command_line splits a command line the way a POSIX shell splits words (single and double
// quotes, backslash escapes). Returns an error for unterminated quotes, control bytes (newline
// included) and lines over 64 KiB. Shell metacharacters (; | & > < ( ) outside quotes, and $ and `
// even inside double quotes, where the shell still expands them) are kept as words of their own,
// so a pattern over argv never matches "cmd; rm -rf /" or "cmd \"$(reboot)\"".
Result<std::vector<std::string>> split_command_line(std::string_view line);

// classify_exec turns an exec request's command line into an Operation: a line parse_transfer
// recognises is Scp or Rsync with its direction and paths; anything else is Exec (with
// transfer_refusal set if it was a malformed transfer). Errors: what split_command_line refuses, an
// empty line, bytes that are not valid UTF-8.
Result<Operation> classify_exec(std::string_view command_line);

// is_any_command_pattern: the exec pattern "*" alone, the officer's explicit "any command line".
bool is_any_command_pattern(std::string_view pattern);

// glob_match matches text against a glob with * and ? (no path semantics): the building block of
// word_matches_pattern, which adds the path and option rules.
bool glob_match(std::string_view pattern, std::string_view text);

// path_glob_match matches a path against a path pattern, segment by segment ('/' separates them):
// '*' and '?' never match '/', a whole segment "**" matches any number (zero or more) of whole
// segments, and a path with a ".." segment never matches, so "/var/log/*.log" admits neither
// "/var/log/a/b.log" nor "/var/log/../../etc/shadow.log". The path is not normalised otherwise:
// "." segments and doubled slashes are matched as written.
bool path_glob_match(std::string_view pattern, std::string_view path);

// word_matches_pattern: one word against one pattern word. A pattern word containing '/' is a path
// pattern (path_glob_match); any other is a plain glob. Either way, a word starting with '-' (an
// option to the program) matches only a pattern word that starts with '-' too: a wildcard never
// stands for an option the officer did not write.
bool word_matches_pattern(std::string_view pattern, std::string_view word);

// exec_pattern_matches: a catalogue pattern is itself split with split_command_line; it matches an
// argv when both have the same number of words and each word matches (word_matches_pattern) — except that a final
// pattern word "*" matches any number (zero or more) of remaining words. A wildcard never stands
// for a metacharacter word: only the same literal word in the pattern matches one. The pattern
// "*" alone is the explicit "any command line" entry and matches everything.
bool exec_pattern_matches(std::string_view pattern, const std::vector<std::string>& argv);

}  // namespace bastion::authz
