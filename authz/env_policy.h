#pragma once
// Which of an operator's environment requests reach the target. The target's shell reads its
// environment before it reads the command: a locale changes how it splits bytes into characters
// (BIG5's 0xa5 swallows the '\' of "\;"), BASH_ENV names a file it sources, LD_PRELOAD a library
// the loader maps, a pager variable a program systemctl runs. So the default is to drop: only
// LANG and LC_* with a locale value of a strict UTF-8 (or C/POSIX) shape pass, plus names the
// officer put on the server's allow-list, which can never hold a name of the unsafe set below.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bastion::authz {

using EnvRequest = std::pair<std::string, std::string>;  // name, value as the operator sent them

// EnvDropped says which request did not pass and why; name and value are escaped
// (escape_unprintable) and the value cut to kEnvShownValueBytes, fit for an audit event.
struct EnvDropped {
  std::string name;
  std::string value;
  std::string why;
};

struct EnvDecision {
  std::vector<EnvRequest> pass;
  std::vector<EnvDropped> dropped;
};

constexpr std::size_t kEnvMaxValueBytes = 256;   // longer values are dropped
constexpr std::size_t kEnvShownValueBytes = 64;  // of a dropped value, this much goes into the event

// is_strict_locale says whether `value` is "C", "POSIX", "C.UTF-8"/"C.utf8", or
// "ll_CC.UTF-8"/"ll_CC.utf8" (ll two or three lower-case letters, CC two upper-case), optionally
// followed by "@modifier" of [a-z0-9]. Nothing else: no other charset, no path, no '/'.
bool is_strict_locale(std::string_view value);

// is_locale_name: LANG, or LC_ followed by upper-case letters and '_' (LC_ALL, LC_CTYPE, …).
bool is_locale_name(std::string_view name);

// unallowable_env_name returns why `name` may not be put on a server's allow-list (a malformed
// name, a name of the unsafe set, or a locale name, which has its own rule), or nothing if it may.
std::optional<std::string> unallowable_env_name(std::string_view name);

// decide_env sorts the requests into those that pass and those dropped. A locale name passes with
// a strict locale value; a name on `allowed` passes if it is still allowable (the store refuses
// unsafe names, this re-check covers an edited database) and its value has no control byte and
// at most kEnvMaxValueBytes. Everything else is dropped. Order is kept.
EnvDecision decide_env(const std::vector<EnvRequest>& requested, const std::vector<std::string>& allowed);

// terminal_name returns the pty-req terminal name if it is 1..64 bytes of [A-Za-z0-9._+-], else
// nothing: the target puts it in TERM, and ncurses reads files named after it.
std::optional<std::string> terminal_name(std::string_view term);

// kFallbackTerminal is what the target is told instead of a refused terminal name.
constexpr std::string_view kFallbackTerminal = "vt100";

}  // namespace bastion::authz
