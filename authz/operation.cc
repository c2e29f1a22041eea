// Classifying exec requests. The command line is untrusted and is later passed unchanged to the
// login shell of the upstream server, so the splitter here is deliberately *more* suspicious than
// a POSIX shell: anything that could make the shell run something other than the words we matched
// (separators, redirections, substitutions, expansions) becomes a word of its own that no wildcard
// ever matches.
#include "authz/operation.h"

#include <algorithm>
#include <cstddef>

#include "authz/cursor.h"

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

bool has_metachar_word(const std::vector<std::string>& argv) {
  return std::any_of(argv.begin(), argv.end(), [](const std::string& w) { return is_metachar_word(w); });
}

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

// ScpFlags: the legacy scp protocol's server-side options, as OpenSSH's scp sends them
// ("scp -v -r -p -d -t -- /path", possibly bundled as "-prt").
struct ScpFlags {
  bool to = false;    // -t: the client uploads
  bool from = false;  // -f: the client downloads
};

// parse_scp_option reads one "-xyz" word; false if it contains a letter scp's server side does not
// take, in which case this is not an scp transfer we recognise.
bool parse_scp_option(std::string_view word, ScpFlags& flags) {
  if (word.size() < 2) return false;
  for (char c : word.substr(1)) {
    switch (c) {
      case 't': flags.to = true; break;
      case 'f': flags.from = true; break;
      case 'r': case 'p': case 'd': case 'v': break;
      default: return false;
    }
  }
  return true;
}

// scp_direction: Upload/Download for a recognised "scp -t|-f [opts] [--] path…", None otherwise;
// the paths go to `paths`.
TransferDirection scp_direction(const std::vector<std::string>& argv, std::vector<std::string>& paths) {
  ScpFlags flags;
  std::size_t i = 1;
  for (; i < argv.size() && argv[i].size() > 1 && argv[i][0] == '-'; ++i) {
    if (argv[i] == "--") { ++i; break; }
    if (!parse_scp_option(argv[i], flags)) return TransferDirection::None;
  }
  const std::size_t count = argv.size() - std::min(i, argv.size());
  if (flags.to == flags.from || count == 0) return TransferDirection::None;
  if (flags.to && count != 1) return TransferDirection::None;
  paths.assign(argv.begin() + static_cast<std::ptrdiff_t>(i), argv.end());
  return flags.to ? TransferDirection::Upload : TransferDirection::Download;
}

// rsync_direction: "rsync --server [--sender] [options] . path…" is the remote half of an rsync
// transfer (the lone "." separates options from paths); with --sender among the options the server
// sends, i.e. the client downloads.
TransferDirection rsync_direction(const std::vector<std::string>& argv, std::vector<std::string>& paths) {
  if (argv.size() < 4 || argv[1] != "--server") return TransferDirection::None;
  const auto dot = std::find(argv.begin() + 2, argv.end(), ".");
  if (dot == argv.end() || dot + 1 == argv.end()) return TransferDirection::None;
  paths.assign(dot + 1, argv.end());
  const bool sender = std::find(argv.begin() + 2, dot, "--sender") != dot;
  return sender ? TransferDirection::Download : TransferDirection::Upload;
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
  auto argv = split_command_line(command_line);
  if (!argv) return argv.error();
  if (argv->empty()) return Error{"command line is empty"};

  Operation op;
  op.type = OpType::Exec;
  op.command = std::string(command_line);
  op.argv = std::move(argv).value();
  // A transfer command chained with anything else is just an exec: an scp or rsync grant must
  // never carry "; other command" along with it.
  if (has_metachar_word(op.argv)) return op;

  TransferDirection d = TransferDirection::None;
  if (op.argv[0] == "scp") {
    d = scp_direction(op.argv, op.paths);
    if (d != TransferDirection::None) op.type = OpType::Scp;
  } else if (op.argv[0] == "rsync") {
    d = rsync_direction(op.argv, op.paths);
    if (d != TransferDirection::None) op.type = OpType::Rsync;
  }
  op.direction = d;
  return op;
}

// glob_match is the classic two-cursor matcher: on a mismatch it backtracks only to the most recent
// '*', which is enough for * and ? and bounds the work by |pattern| * |text| with no recursion.
bool glob_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0, t = 0;
  std::size_t star = std::string_view::npos;  // position of the last '*' seen in pattern
  std::size_t star_text = 0;                  // text position that '*' is currently extended to
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_text = t;
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
