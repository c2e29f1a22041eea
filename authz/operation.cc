// Classifying exec requests. The command line is untrusted, and the target's login shell will parse
// whatever is sent, so the splitter here is deliberately *more* suspicious than a POSIX shell:
// anything that could make the shell run something other than the words we matched (separators,
// redirections, substitutions, expansions) becomes a word of its own that no wildcard ever matches.
// What goes upstream is then not the line but serialise_argv of the words (authz/shell_words.h), so
// the shell has nothing left to expand.
#include "authz/operation.h"

#include <algorithm>
#include <cstddef>

#include "authz/cursor.h"
#include "authz/shell_words.h"

namespace bastion::authz {
namespace {

// A command line longer than this is refused outright; real scp/rsync/exec requests are far
// shorter, and a bound keeps every later pass over the words cheap.
constexpr std::size_t kMaxCommandLine = 64 * 1024;

// Outside quotes a POSIX shell treats these as operators or expansions.
bool is_metachar(char c) {
  switch (c) {
    case ';': case '|': case '&': case '$': case '`':
    case '>': case '<': case '(': case ')': case '\n':
      return true;
    default:
      return false;
  }
}

// Inside double quotes the shell still expands $… and `…`, so those stay dangerous there too.
bool expands_inside_double_quotes(char c) { return c == '$' || c == '`'; }

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// Control bytes other than tab have no business in a command line and are how terminal escapes
// and NUL-truncation tricks get in; bytes >= 0x80 (UTF-8 file names) are allowed.
bool is_forbidden_byte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u < 0x20 && c != '\t') || u == 0x7f;
}

Status check_bytes(std::string_view line) {
  if (line.size() > kMaxCommandLine) return Error{"command line is longer than 64 KiB"};
  for (char c : line) {
    if (is_forbidden_byte(c)) return Error{"command line contains a control character"};
  }
  return ok_status();
}

// WordSplitter accumulates words; `open_` records that a word has started even if it is still
// empty (so that '' yields an empty argument, as in sh).
class WordSplitter {
 public:
  void add(char c) { word_.push_back(c); open_ = true; }
  void open() { open_ = true; }
  void finish() {
    if (open_) words_.push_back(std::move(word_));
    word_.clear();
    open_ = false;
  }
  // emit_metachar ends the current word and adds c as a word of its own.
  void emit_metachar(char c) {
    finish();
    words_.emplace_back(1, c);
  }
  std::vector<std::string> take() { finish(); return std::move(words_); }

 private:
  std::vector<std::string> words_;
  std::string word_;
  bool open_ = false;
};

// read_single_quoted consumes up to and including the closing quote; everything inside is literal.
Status read_single_quoted(Cursor& in, WordSplitter& out) {
  out.open();
  while (auto c = in.next()) {
    if (*c == '\'') return ok_status();
    out.add(*c);
  }
  return Error{"command line has an unterminated single quote"};
}

// read_double_quoted consumes up to and including the closing quote. Backslash escapes only
// $ ` " \ (as in sh); $ and ` still expand, so they are split out as metacharacter words.
Status read_double_quoted(Cursor& in, WordSplitter& out) {
  bool split_out = false;  // a metacharacter word came out of these quotes
  while (auto c = in.next()) {
    if (*c == '"') {
      if (!split_out) out.open();  // "" is an empty argument, as in sh
      return ok_status();
    }
    if (*c == '\\') {
      auto escaped = in.next();
      if (!escaped) break;
      if (*escaped != '$' && *escaped != '`' && *escaped != '"' && *escaped != '\\') out.add('\\');
      out.add(*escaped);
    } else if (expands_inside_double_quotes(*c)) {
      out.emit_metachar(*c);  // text after it in the same quotes starts a new word
      split_out = true;
    } else {
      out.add(*c);
    }
  }
  return Error{"command line has an unterminated double quote"};
}

Status split_into(Cursor& in, WordSplitter& out) {
  while (auto c = in.next()) {
    if (is_blank(*c)) {
      out.finish();
    } else if (*c == '\'') {
      if (auto s = read_single_quoted(in, out); !s) return s;
    } else if (*c == '"') {
      if (auto s = read_double_quoted(in, out); !s) return s;
    } else if (*c == '\\') {
      auto escaped = in.next();
      if (!escaped) return Error{"command line ends with a lone backslash"};
      out.add(*escaped);
    } else if (is_metachar(*c)) {
      out.emit_metachar(*c);
    } else {
      out.add(*c);
    }
  }
  return ok_status();
}

// is_metachar_word: a one-byte word that is a shell metacharacter. A quoted ';' looks the same as
// an unquoted one once split; treating both as dangerous errs on the side of refusing.
bool is_metachar_word(std::string_view w) { return w.size() == 1 && is_metachar(w[0]); }


// word_matches: wildcards never stand for a metacharacter word; only the same literal does.
bool word_matches(std::string_view pattern, std::string_view word) {
  if (is_metachar_word(word)) return pattern == word;
  return word_matches_pattern(pattern, word);
}

// Segments: the '/'-separated parts of a path, read through the cursor; "/a//b" gives "", "a", "", "b".
std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  Cursor in(path);
  out.push_back(in.take_until('/'));
  while (in.consume('/')) out.push_back(in.take_until('/'));
  return out;
}

}  // namespace

Operation Operation::forward(std::string host, int port) {
  Operation o;
  o.type = OpType::Forward;
  o.forward_host = std::move(host);
  o.forward_port = port;
  return o;
}

Result<std::vector<std::string>> split_command_line(std::string_view line) {
  if (auto s = check_bytes(line); !s) return s.error();
  Cursor in(line);
  WordSplitter out;
  if (auto s = split_into(in, out); !s) return s.error();
  return out.take();
}

Result<Operation> classify_exec(std::string_view command_line) {
  if (!is_valid_utf8(command_line))
    return Error{"command line is not valid UTF-8; the bastion passes only UTF-8 text to the server's shell"};
  auto argv = split_command_line(command_line);
  if (!argv) return argv.error();
  if (argv->empty()) return Error{"command line is empty"};

  Operation op;
  op.type = OpType::Exec;
  op.command = std::string(command_line);
  op.argv = std::move(argv).value();
  op.upstream_command = serialise_argv(op.argv);
  if (auto transfer = parse_transfer(op.argv)) {
    if (!transfer->ok()) {
      op.transfer_refusal = transfer->error().message;
      return op;
    }
    op.type = (*transfer)->type;
    op.direction = (*transfer)->direction;
    op.paths = std::move((*transfer)->paths);
  }
  return op;
}

bool is_any_command_pattern(std::string_view pattern) {
  auto words = split_command_line(pattern);
  return words && words->size() == 1 && words->front() == "*";
}

// glob_match is the classic two-cursor matcher: on a mismatch it backtracks only to the most recent
// '*', which is enough for * and ? and bounds the work by |pattern| * |text| with no recursion.
bool glob_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0, t = 0;
  std::size_t star = std::string_view::npos;  // position of the last '*' seen in pattern
  std::size_t star_text = 0;                  // text position that '*' is currently extended to
  while (t < text.size()) {
    // '*' first: a '*' in the text is a character like any other, not a match for the pattern's '*'
    // taken literally (which would refuse "*.log" against "*").
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_text = t;
    } else if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// path_glob_match runs the two-cursor algorithm of glob_match one level up: over segments, with a
// "**" segment in the role of '*' and glob_match deciding whether two segments match. Segments
// hold no '/', so within one '*' and '?' cannot cross a separator.
bool path_glob_match(std::string_view pattern, std::string_view path) {
  const auto text = segments(path);
  if (std::find(text.begin(), text.end(), "..") != text.end()) return false;
  const auto pat = segments(pattern);
  std::size_t p = 0, t = 0;
  std::size_t star = std::string_view::npos;  // index of the last "**" segment seen in pat
  std::size_t star_text = 0;                  // text segment that "**" is currently extended to
  while (t < text.size()) {
    if (p < pat.size() && pat[p] != "**" && glob_match(pat[p], text[t])) {
      ++p;
      ++t;
    } else if (p < pat.size() && pat[p] == "**") {
      star = p++;
      star_text = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_text;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == "**") ++p;
  return p == pat.size();
}

bool word_matches_pattern(std::string_view pattern, std::string_view word) {
  if (!word.empty() && word.front() == '-' && (pattern.empty() || pattern.front() != '-')) return false;
  if (pattern.find('/') != std::string_view::npos) return path_glob_match(pattern, word);
  return glob_match(pattern, word);
}

bool exec_pattern_matches(std::string_view pattern, const std::vector<std::string>& argv) {
  auto words = split_command_line(pattern);
  if (!words || words->empty()) return false;
  // A lone "*" is the officer's explicit "any command line". It already admits `sh -c '…'`, so
  // refusing shell syntax there would add friction and no protection.
  if (words->size() == 1 && words->front() == "*") return true;
  const bool open_tail = words->back() == "*";
  const std::size_t fixed = open_tail ? words->size() - 1 : words->size();

  if (open_tail ? argv.size() < fixed : argv.size() != fixed) return false;
  for (std::size_t i = 0; i < fixed; ++i) {
    if (!word_matches((*words)[i], argv[i])) return false;
  }
  // The open tail takes any number of further plain words, but never a separator or substitution,
  // nor an option (word_matches_pattern's rule for a '*' that does not start with '-').
  return std::all_of(argv.begin() + static_cast<std::ptrdiff_t>(fixed), argv.end(),
                     [](const std::string& w) { return word_matches("*", w); });
}

}  // namespace bastion::authz
