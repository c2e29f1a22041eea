#include "authz/env_policy.h"

#include <algorithm>
#include <iterator>

#include "authz/text.h"

namespace bastion::authz {
namespace {

bool lower(char c) { return c >= 'a' && c <= 'z'; }
bool upper(char c) { return c >= 'A' && c <= 'Z'; }
bool digit(char c) { return c >= '0' && c <= '9'; }

bool all_of(std::string_view s, bool (*pred)(char)) { return std::all_of(s.begin(), s.end(), pred); }

// The unsafe set (README "Environment"): names a shell, the dynamic loader, libc or a common
// program reads as code, as a file to load, or as a program to run. Exact names first, then
// prefixes and suffixes that cover families (LD_PRELOAD, PYTHONSTARTUP, SYSTEMD_PAGER …).
constexpr std::string_view kUnsafeNames[] = {
    "BASH_ENV", "ENV",        "PATH",         "SHELL",     "IFS",         "PS1",           "PS2",
    "PS3",      "PS4",        "PROMPT_COMMAND", "CDPATH",  "GLOBIGNORE",  "BASHOPTS",      "SHELLOPTS",
    "HOME",     "USER",       "LOGNAME",      "MAIL",      "TERM",        "TERMINFO",      "TERMINFO_DIRS",
    "TERMCAP",  "INPUTRC",    "TMPDIR",       "LOCPATH",   "GCONV_PATH",  "NLSPATH",       "HOSTALIASES",
    "RESOLV_HOST_CONF", "GLIBC_TUNABLES", "TZ", "TZDIR",   "RUBYOPT",     "RUBYLIB",       "NODE_OPTIONS",
    "NODE_PATH", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "CLASSPATH", "EDITOR", "VISUAL",     "BROWSER",
    "LANGUAGE"};
constexpr std::string_view kUnsafePrefixes[] = {"LD_",     "BASH_FUNC_", "PYTHON", "PERL",
                                                           "MALLOC_", "SSH_",       "GIT_",   "OPENSSL_",
                                                           "LESS",    "SUDO_",      "LUA_",   "GCONV"};
constexpr std::string_view kUnsafeSuffixes[] = {"PAGER", "EDITOR", "_PATH"};

bool well_formed_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  if (digit(name[0])) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return upper(c) || lower(c) || digit(c) || c == '_'; });
}

bool unsafe_name(std::string_view name) {
  std::string up(name);
  std::transform(up.begin(), up.end(), up.begin(), [](char c) { return lower(c) ? static_cast<char>(c - 32) : c; });
  if (std::find(std::begin(kUnsafeNames), std::end(kUnsafeNames), up) != std::end(kUnsafeNames)) return true;
  for (auto p : kUnsafePrefixes)
    if (up.starts_with(p)) return true;
  for (auto s : kUnsafeSuffixes)
    if (up.ends_with(s)) return true;
  return false;
}

bool plain_value(std::string_view v) {
  if (v.size() > kEnvMaxValueBytes) return false;
  return std::none_of(v.begin(), v.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

EnvDropped dropped(const EnvRequest& r, std::string why) {
  std::string_view value = r.second;
  std::string shown = escape_unprintable(value.substr(0, kEnvShownValueBytes));
  if (value.size() > kEnvShownValueBytes) shown += "…";
  return {escape_unprintable(std::string_view(r.first).substr(0, 64)), shown, std::move(why)};
}

}  // namespace

bool is_strict_locale(std::string_view v) {
  if (v == "C" || v == "POSIX" || v == "C.UTF-8" || v == "C.utf8") return true;
  if (auto at = v.find('@'); at != std::string_view::npos) {
    std::string_view mod = v.substr(at + 1);
    if (mod.empty() || mod.size() > 16 || !all_of(mod, [](char c) { return lower(c) || digit(c); })) return false;
    v = v.substr(0, at);
  }
  auto dot = v.find('.');
  if (dot == std::string_view::npos) return false;
  std::string_view charset = v.substr(dot + 1), territory = v.substr(0, dot);
  if (charset != "UTF-8" && charset != "utf8") return false;
  auto us = territory.find('_');
  if (us == std::string_view::npos) return false;
  std::string_view lang = territory.substr(0, us), country = territory.substr(us + 1);
  return (lang.size() == 2 || lang.size() == 3) && all_of(lang, lower) && country.size() == 2 && all_of(country, upper);
}

bool is_locale_name(std::string_view name) {
  if (name == "LANG") return true;
  if (!name.starts_with("LC_") || name.size() == 3) return false;
  return all_of(name.substr(3), [](char c) { return upper(c) || c == '_'; });
}

std::optional<std::string> unallowable_env_name(std::string_view name) {
  std::string shown = "'" + escape_unprintable(name.substr(0, 64)) + "'";
  if (!well_formed_name(name))
    return shown + " is not a variable name (letters, digits and '_', not starting with a digit, at most 64)";
  if (is_locale_name(name))
    return shown + " is a locale variable: LANG and LC_* pass on their own with a UTF-8 or C locale value, never by the allow-list";
  if (unsafe_name(name))
    return shown + " is in the unsafe set (a shell, the loader, libc or a program reads it as code, a file or a program to run; see README \"Environment\")";
  return std::nullopt;
}

EnvDecision decide_env(const std::vector<EnvRequest>& requested, const std::vector<std::string>& allowed) {
  EnvDecision d;
  for (const auto& r : requested) {
    const auto& [name, value] = r;
    if (is_locale_name(name)) {
      if (is_strict_locale(value))
        d.pass.push_back(r);
      else
        d.dropped.push_back(dropped(r, "not a UTF-8 or C locale"));
      continue;
    }
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      d.dropped.push_back(dropped(r, "not on the server's allow-list"));
    } else if (unallowable_env_name(name)) {
      d.dropped.push_back(dropped(r, "in the unsafe set"));
    } else if (!plain_value(value)) {
      d.dropped.push_back(dropped(r, "value has a control byte or is longer than " + std::to_string(kEnvMaxValueBytes)));
    } else {
      d.pass.push_back(r);
    }
  }
  return d;
}

std::optional<std::string> terminal_name(std::string_view term) {
  if (term.empty() || term.size() > 64) return std::nullopt;
  bool ok = std::all_of(term.begin(), term.end(), [](char c) {
    return upper(c) || lower(c) || digit(c) || c == '.' || c == '_' || c == '+' || c == '-';
  });
  if (!ok) return std::nullopt;
  return std::string(term);
}

}  // namespace bastion::authz
