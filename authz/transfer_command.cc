// The grammar of scp's and rsync's server command lines, as OpenSSH 9.2's scp -O and rsync 3.2.7 …
// 3.5.0 send them (rsync's options.c server_options() is the list of what a client can send; checked
// against the real clients with a remote shell that prints its arguments). Everything not listed here
// is refused with a message naming the word: an allow-list, because rsync's server side parses the
// whole popt table (daemon mode included) and reads options after the "." too.
#include "authz/transfer_command.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>

namespace bastion::authz {
namespace {

using Words = std::vector<std::string>;

std::string_view basename_of(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool all_of_chars(std::string_view s, std::string_view allowed) {
  return std::all_of(s.begin(), s.end(), [&](char c) { return allowed.find(c) != std::string_view::npos; });
}

bool is_integer(std::string_view s) {
  if (!s.empty() && s.front() == '-') s.remove_prefix(1);
  return !s.empty() && s.size() <= 12 && all_of_chars(s, "0123456789");
}

// A shell metacharacter word (split_command_line's separators and substitutions), or a comment: a
// transfer line never carries one, so "rsync --server … . x #" or "scp -t /tmp; reboot" is no transfer.
Status plain_word(std::string_view w, std::string_view program) {
  if (w.size() == 1 && std::string_view(";|&$`<>()").find(w[0]) != std::string_view::npos)
    return Error{std::string(program) + " command line carries the shell metacharacter '" + std::string(w) + "'"};
  if (!w.empty() && w.front() == '#')
    return Error{std::string(program) + " command line carries a word starting with '#' (`" + std::string(w) + "`)"};
  return ok_status();
}

Error refused(std::string_view program, std::string_view option, std::string_view why) {
  return Error{std::string(program) + " option " + std::string(option) + " is not allowed through the bastion: " +
               std::string(why)};
}

// ---- scp ---------------------------------------------------------------------------------------
// OpenSSH's legacy server side: "scp [-v] [-r] [-p] [-d] -t|-f [--] path…", options possibly bundled
// ("-prt"). -t: the client uploads into the one path; -f: the client downloads every path.

bool is_scp_attempt(const Words& argv) {
  if (basename_of(argv[0]) != "scp") return false;
  return std::any_of(argv.begin() + 1, argv.end(), [](const std::string& w) {
    return w.size() >= 2 && w[0] == '-' && w[1] != '-' && w.find_first_of("tf") != std::string::npos;
  });
}

Result<TransferLine> parse_scp(const Words& argv) {
  if (argv[0] != "scp") return Error{"scp must be named `scp`, as OpenSSH's scp sends it, not `" + argv[0] + "`"};
  bool to = false, from = false, end_of_options = false;
  TransferLine t;
  t.type = OpType::Scp;
  for (std::size_t i = 1; i < argv.size(); ++i) {
    const std::string& w = argv[i];
    if (auto s = plain_word(w, "scp"); !s) return s.error();
    if (end_of_options || w.empty() || w.front() != '-') {
      t.paths.push_back(w);
      continue;
    }
    if (w == "-") return Error{"scp command line has a lone `-`, which scp would read as a path"};
    if (!t.paths.empty())
      return Error{"scp option `" + w + "` after a path: scp would read it as an option; write -- before such a path"};
    if (w == "--") { end_of_options = true; continue; }
    for (char c : std::string_view(w).substr(1)) {
      switch (c) {
        case 't': to = true; break;
        case 'f': from = true; break;
        case 'r': case 'p': case 'd': case 'v': break;
        default: return refused("scp", "-" + std::string(1, c), "scp's server side takes only -v -r -p -d -t -f");
      }
    }
  }
  if (to == from) return Error{"scp command line needs exactly one of -t (upload) and -f (download)"};
  if (t.paths.empty()) return Error{"scp command line names no path"};
  if (to && t.paths.size() != 1) return Error{"scp -t (upload) takes exactly one destination path"};
  t.direction = to ? TransferDirection::Upload : TransferDirection::Download;
  return t;
}

// ---- rsync -------------------------------------------------------------------------------------
// "rsync --server [--sender] OPTIONS . PATH…". The client sends short options bundled in one word
// (e.g. -vlogDtpre.iLsfxCIvu) whose 'e' carries the rest of the word as protocol compatibility
// flags, not a remote shell; then long options, "--name=value" for those with a value.

// Short options a client puts in the bundle (server_options()), minus those refused below.
constexpr std::string_view kRsyncShortFlags = "vqbunldmOJyWHogDtUNpEAXrcCIRxSz";

// Long options without a value that server_options() sends, none of which names a file outside the
// transfer or changes what the server runs.
constexpr std::array<std::string_view, 41> kRsyncLongFlags = {
    "--sender",           "--list-only",          "--no-r",             "--no-specials",
    "--specials",         "--msgs2stderr",        "--no-msgs2stderr",   "--new-compress",
    "--old-compress",     "--delete",             "--delete-before",    "--delete-during",
    "--delete-delay",     "--delete-after",       "--delete-excluded",  "--force",
    "--super",            "--size-only",          "--stats",            "--delete-missing-args",
    "--ignore-missing-args", "--partial",         "--delay-updates",    "--ignore-errors",
    "--safe-links",       "--numeric-ids",        "--use-qsort",        "--ignore-existing",
    "--existing",         "--fsync",              "--append",           "--inplace",
    "--no-W",             "--no-implied-dirs",    "--write-devices",    "--remove-source-files",
    "--remove-sent-files", "--preallocate",       "--open-noatime",     "--mkpath",
    "--no-relative",
};

enum class ValueKind { Integer, Text, NoSlash };
struct ValuedOption {
  std::string_view name;
  ValueKind kind;
};
// Long options server_options() sends as "--name=value"; the value is a number, a format, a name
// map or a list of suffixes, never a file.
constexpr std::array<ValuedOption, 17> kRsyncValued = {{
    {"--compress-level", ValueKind::Integer}, {"--timeout", ValueKind::Integer},
    {"--bwlimit", ValueKind::Integer},        {"--max-delete", ValueKind::Integer},
    {"--checksum-seed", ValueKind::Integer},  {"--modify-window", ValueKind::Integer},
    {"--min-size", ValueKind::Text},          {"--max-size", ValueKind::Text},
    {"--max-alloc", ValueKind::Text},         {"--log-format", ValueKind::Text},
    {"--checksum-choice", ValueKind::Text},   {"--compress-choice", ValueKind::Text},
    {"--skip-compress", ValueKind::Text},     {"--usermap", ValueKind::Text},
    {"--groupmap", ValueKind::Text},          {"--info", ValueKind::Text},
    {"--debug", ValueKind::Text},
}};

struct RefusedOption {
  std::string_view name;
  std::string_view why;
};
// Options a client can be made to send (some through -M/--remote-option, some by --rsync-path), each
// with the reason a person reading the refusal needs.
constexpr std::string_view kDaemon = "it starts rsync's daemon mode, which runs its config's `early exec` and `pre-xfer exec`";
constexpr std::string_view kOutside = "it names a directory or file on the server outside the transfer paths";
constexpr std::string_view kBatch = "it reads or writes a batch file on the server outside the transfer paths";
constexpr std::string_view kLinks = "it makes rsync follow symbolic links on the server out of the transfer paths";
constexpr std::array<RefusedOption, 27> kRsyncRefused = {{
    {"--daemon", kDaemon}, {"--config", kDaemon}, {"--dparam", kDaemon}, {"--detach", kDaemon},
    {"--no-detach", kDaemon},
    {"--rsh", "on the server it names a remote shell to run"},
    {"--rsync-path", "on the server it names a program to run"},
    {"--remote-option", "it passes further options the bastion cannot see"},
    {"--log-file", "it writes a log file on the server outside the transfer paths"},
    {"--log-file-format", "it belongs to --log-file"},
    {"--write-batch", kBatch}, {"--read-batch", kBatch}, {"--only-write-batch", kBatch},
    {"--temp-dir", kOutside}, {"--backup-dir", kOutside}, {"--partial-dir", kOutside},
    {"--compare-dest", kOutside}, {"--copy-dest", kOutside}, {"--link-dest", kOutside},
    {"--files-from", "it reads the list of files to send from a file or the client, unchecked by the bastion"},
    {"--exclude-from", kOutside}, {"--include-from", kOutside},
    {"--copy-unsafe-links", kLinks},
    {"--iconv", "it converts file names between character sets, so the names checked are not the names used"},
    {"--secluded-args", "it sends the paths and options inside the transfer, where the bastion cannot check them"},
    {"--protect-args", "it sends the paths and options inside the transfer, where the bastion cannot check them"},
    {"--copy-devices", "it reads device contents on the server"},
}};

// Short options that take the rest of the word (or the next word) as a value, or that are refused.
Status rsync_short_refusal(char c) {
  switch (c) {
    case 's': return refused("rsync", "-s", "it sends the paths and options inside the transfer, where the bastion cannot check them; run rsync without -s/--secluded-args");
    case 'M': return refused("rsync", "-M", "it passes further options (or, in daemon mode, parameters) the bastion cannot see");
    case 'T': return refused("rsync", "-T", "it names a temporary directory on the server outside the transfer paths");
    case 'f': return refused("rsync", "-f", "filter rules travel inside the transfer; the command line never carries -f");
    case 'L': case 'k': case 'K':
      return refused("rsync", "-" + std::string(1, c), kLinks);
    default:
      return refused("rsync", "-" + std::string(1, c), "rsync's server side is not sent it by an rsync client");
  }
}

// compat_flags: the value of the bundled 'e', "." or "31.0" followed by letters (maybe_add_e_option).
bool compat_flags(std::string_view v) {
  const std::size_t dot = v.find('.');
  if (dot == std::string_view::npos) return false;
  const std::string_view version = v.substr(0, dot);
  if (!version.empty()) {
    const std::size_t minor_end = v.find_first_not_of("0123456789", dot + 1);
    if (!all_of_chars(version, "0123456789") || minor_end == dot + 1) return false;
    v = v.substr(minor_end == std::string_view::npos ? v.size() : minor_end);
  } else {
    v.remove_prefix(1);
  }
  return all_of_chars(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
}

Status rsync_short_bundle(std::string_view w) {
  // Whole-word numeric options: "-B8192" (block size), "-@-1" (modify window).
  if ((starts_with(w, "-B") || starts_with(w, "-@")) && is_integer(w.substr(2))) return ok_status();
  for (std::size_t i = 1; i < w.size(); ++i) {
    const char c = w[i];
    if (c == 'e') {
      if (compat_flags(w.substr(i + 1))) return ok_status();
      return refused("rsync", "-e", "on the server it names a remote shell; only the protocol flags a client sends (e.g. -e.iLsfxCIvu) pass");
    }
    if (kRsyncShortFlags.find(c) == std::string_view::npos) return rsync_short_refusal(c);
  }
  return ok_status();
}

Status rsync_long_option(std::string_view w, bool& sender) {
  const std::size_t eq = w.find('=');
  const std::string_view name = w.substr(0, eq);
  for (const auto& r : kRsyncRefused) {
    if (name == r.name) return refused("rsync", name, r.why);
  }
  if (std::find(kRsyncLongFlags.begin(), kRsyncLongFlags.end(), name) != kRsyncLongFlags.end()) {
    if (eq != std::string_view::npos) return Error{"rsync option " + std::string(name) + " takes no value"};
    if (name == "--sender") sender = true;
    return ok_status();
  }
  for (const auto& v : kRsyncValued) {
    if (name != v.name) continue;
    if (eq == std::string_view::npos)
      return Error{"rsync option " + std::string(name) + " must carry its value as " + std::string(name) + "=VALUE"};
    const std::string_view value = w.substr(eq + 1);
    if (v.kind == ValueKind::Integer && !is_integer(value))
      return Error{"rsync option " + std::string(name) + " takes a number, not `" + std::string(value) + "`"};
    return ok_status();
  }
  if (name == "--suffix") {  // the backup suffix: a '/' in it would put backups in another directory
    if (eq != std::string_view::npos && w.find('/', eq) == std::string_view::npos) return ok_status();
    return refused("rsync", "--suffix", "its value must be --suffix=TEXT without '/'");
  }
  return refused("rsync", name, "rsync's server side is not sent it by an rsync client");
}

bool is_rsync_attempt(const Words& argv) {
  if (basename_of(argv[0]) != "rsync") return false;
  return std::any_of(argv.begin() + 1, argv.end(), [](const std::string& w) {
    return w == "--server" || w == "--daemon" || starts_with(w, "--config") || starts_with(w, "--dparam") ||
           w == "--detach" || w == "--no-detach";
  });
}

Result<TransferLine> parse_rsync(const Words& argv) {
  if (argv[0] != "rsync")
    return Error{"rsync must be named `rsync`, as the rsync client sends it, not `" + argv[0] + "` (drop --rsync-path)"};
  if (argv.size() < 2 || argv[1] != "--server") return Error{"rsync command line must start with `rsync --server`"};
  TransferLine t;
  t.type = OpType::Rsync;
  bool sender = false, dot = false;
  for (std::size_t i = 2; i < argv.size(); ++i) {
    const std::string& w = argv[i];
    if (auto s = plain_word(w, "rsync"); !s) return s.error();
    if (dot) {
      // rsync's option parser reads options after the "." too: a "path" starting with '-' is one.
      if (!w.empty() && w.front() == '-')
        return Error{"rsync path `" + w + "` starts with '-': rsync would read it as an option"};
      t.paths.push_back(w);
    } else if (w == ".") {
      dot = true;
    } else if (starts_with(w, "--")) {
      if (w == "--") return Error{"rsync command line carries `--`, which an rsync client never sends"};
      if (auto s = rsync_long_option(w, sender); !s) return s.error();
    } else if (w.size() >= 2 && w.front() == '-') {
      if (auto s = rsync_short_bundle(w); !s) return s.error();
    } else {
      return Error{"rsync command line has `" + w + "` before the lone \".\" that separates options from paths"};
    }
  }
  if (!dot) return Error{"rsync command line has no lone \".\" before its paths (did the client use -s?)"};
  if (t.paths.empty()) return Error{"rsync command line names no path"};
  t.direction = sender ? TransferDirection::Download : TransferDirection::Upload;
  return t;
}

}  // namespace

std::optional<Result<TransferLine>> parse_transfer(const Words& argv) {
  if (argv.empty()) return std::nullopt;
  if (is_scp_attempt(argv)) return parse_scp(argv);
  if (is_rsync_attempt(argv)) return parse_rsync(argv);
  return std::nullopt;
}

}  // namespace bastion::authz
