// Fuzz target for authz/operation.cc. Input: "<pattern>\0<command line>" (no NUL: the whole input is
// both). Invariants checked, each aborting if broken:
//  - a transfer (scp/rsync) classification never carries a shell metacharacter word;
//  - a pattern made only of wildcards never matches an argv with a metacharacter word (the pattern
//    cannot have contained it literally) — except the lone "*", the documented "any command line"
//    entry, which matches every command line that splits;
//  - any text glob-matches itself (a pattern with no wildcard behaves as equality);
//  - what is sent upstream for an accepted line, serialise_argv(argv), splits back to the same argv
//    under a POSIX shell's rules (split_command_line), so the target runs exactly the words matched;
//  - an accepted line is valid UTF-8, and a recognised transfer has paths and no daemon option.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "authz/operation.h"
#include "authz/shell_words.h"

namespace {

using namespace bastion::authz;

void check(bool ok) {
  if (!ok) std::abort();
}

bool is_metachar_word(const std::string& w) {
  return w.size() == 1 && std::string_view(";|&$`<>()\n").find(w[0]) != std::string_view::npos;
}

bool has_metachar_word(const std::vector<std::string>& argv) {
  return std::any_of(argv.begin(), argv.end(), is_metachar_word);
}

void fuzz_classify(std::string_view command) {
  auto op = classify_exec(command);
  if (!op.ok()) return;
  check(op->command == command && !op->argv.empty());
  check(is_valid_utf8(command));
  check(op->upstream_command == serialise_argv(op->argv));
  auto back = split_command_line(op->upstream_command);
  check(back.ok() && *back == op->argv);
  if (op->type == OpType::Scp || op->type == OpType::Rsync) {
    check(!has_metachar_word(op->argv));
    check(op->direction != TransferDirection::None);
    check(!op->paths.empty() && op->transfer_refusal.empty());
    // No word is a comment. rsync reads options anywhere (after the "." too, and it never gets a
    // "--"), so no word of an rsync line is a daemon, config or remote-shell option; scp stops
    // reading options at "--", after which "--config…" is a file name like any other.
    bool scp_paths = false;
    for (const std::string& w : op->argv) {
      check(w.empty() || w.front() != '#');
      if (op->type == OpType::Scp && w == "--") scp_paths = true;
      if (scp_paths) continue;
      check(w != "--daemon" && w.rfind("--config", 0) != 0 && w.rfind("--rsh", 0) != 0);
    }
  }
  // Wildcard-only patterns must refuse anything carrying a separator or substitution.
  for (const char* pattern : {"? *", "* *", "* * *", "? ? ? ?"}) {
    if (exec_pattern_matches(pattern, op->argv)) check(!has_metachar_word(op->argv));
  }
  check(exec_pattern_matches("*", op->argv));
}

void fuzz_pattern(std::string_view pattern, std::string_view command) {
  auto argv = split_command_line(command);
  if (!argv.ok()) return;
  const bool matched = exec_pattern_matches(pattern, *argv);
  auto words = split_command_line(pattern);
  const bool any_command = words.ok() && words->size() == 1 && words->front() == "*";
  if (matched && words.ok() && !any_command) {
    // Every metacharacter word in argv must have come from the same literal word in the pattern.
    for (const std::string& w : *argv) {
      if (is_metachar_word(w)) check(std::find(words->begin(), words->end(), w) != words->end());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = in.find('\0');
  const std::string_view pattern = nul == std::string_view::npos ? in : in.substr(0, nul);
  const std::string_view command = nul == std::string_view::npos ? in : in.substr(nul + 1);

  fuzz_classify(command);
  fuzz_pattern(pattern, command);
  check(glob_match(pattern, pattern));
  (void)glob_match(pattern, command);
  return 0;
}
