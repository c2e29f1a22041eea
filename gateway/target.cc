// Target names come straight from the network (the SSH user name, the first word of an exec
// request). They are read through a Cursor and checked against small, fixed alphabets; a login
// or server name can therefore never start with '-' (option injection) or carry shell syntax.
#include "gateway/target.h"

#include "authz/text.h"

#include <vector>

#include "authz/cursor.h"

namespace bastion::gateway {
namespace {

constexpr std::size_t kMaxOperatorName = 32;
constexpr std::size_t kMaxLogin = 32;
constexpr std::size_t kMaxServerName = 63;
// operator + login + server and two separators; anything longer cannot be valid, and refusing it
// first keeps error messages (which quote the input) short.
constexpr std::size_t kMaxUser = kMaxOperatorName + kMaxLogin + kMaxServerName + 2;
constexpr std::size_t kMaxCommandLine = 64 * 1024;

bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_blank(char c) { return c == ' ' || c == '\t'; }

bool is_control(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}
bool is_ascii(char c) { return static_cast<unsigned char>(c) < 0x80; }

// matches_name checks first ∈ first_ok, the rest ∈ rest_ok, and 1 <= size <= max.
template <typename First, typename Rest>
bool matches_name(std::string_view s, std::size_t max, First first_ok, Rest rest_ok) {
  Cursor in(s);
  auto first = in.next();
  if (!first || s.size() > max || !first_ok(*first)) return false;
  while (auto c = in.next()) {
    if (!rest_ok(*c)) return false;
  }
  return true;
}

// quoted renders untrusted input for an error message: printable ASCII as is, the rest as \xNN.
std::string quoted(std::string_view s) { return "'" + escape_unprintable(s) + "'"; }

// check_bytes refuses control and non-ASCII bytes; `what` names the input in the message.
Status check_bytes(std::string_view s, const char* what, bool allow_tab_and_utf8) {
  for (char c : s) {
    if (allow_tab_and_utf8 && (c == '\t' || !is_ascii(c))) continue;
    if (is_control(c)) return Error{std::string(what) + " " + quoted(s) + " contains a control character"};
    if (!is_ascii(c)) return Error{std::string(what) + " " + quoted(s) + " contains a non-ASCII byte"};
  }
  return ok_status();
}

// split_on returns the parts of s between separators; "a++b" gives {"a", "", "b"}.
std::vector<std::string_view> split_on(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  Cursor in(s);
  parts.push_back(in.take_until(sep));
  while (in.consume(sep)) parts.push_back(in.take_until(sep));
  return parts;
}

Status check_login(std::string_view login) {
  if (valid_login(login)) return ok_status();
  return Error{"login " + quoted(login) +
               " is not a valid login name (a letter, digit or _, then up to 31 letters, digits, _ . -)"};
}

Status check_server(std::string_view server) {
  if (valid_server_name(server)) return ok_status();
  return Error{"server " + quoted(server) +
               " is not a valid server name (a letter or digit, then up to 62 letters, digits, . -)"};
}

Result<Target> make_target(std::string_view login, std::string_view server) {
  if (auto s = check_login(login); !s) return s.error();
  if (auto s = check_server(server); !s) return s.error();
  return Target{std::string(login), std::string(server)};
}

void skip_blanks(Cursor& in) {
  while (in.peek() && is_blank(*in.peek())) in.next();
}

// take_word returns the bytes up to the next blank (or the end) and advances past them.
std::string_view take_word(Cursor& in) {
  const std::string_view rest = in.rest();
  std::size_t n = 0;
  while (in.peek() && !is_blank(*in.peek())) {
    in.next();
    ++n;
  }
  return rest.substr(0, n);
}

Result<Target> parse_target_word(std::string_view word) {
  const std::vector<std::string_view> parts = split_on(word, '@');
  if (parts.size() != 2) return Error{"target " + quoted(word) + " must be login@server, e.g. root@web1"};
  if (parts[0].empty()) return Error{"target " + quoted(word) + " has no login before '@'"};
  if (parts[1].empty()) return Error{"target " + quoted(word) + " has no server after '@'"};
  return make_target(parts[0], parts[1]);
}

}  // namespace

bool valid_operator_name(std::string_view s) {
  return matches_name(
      s, kMaxOperatorName, [](char c) { return is_lower(c) || c == '_'; },
      [](char c) { return is_lower(c) || is_digit(c) || c == '_' || c == '.' || c == '-'; });
}

bool valid_login(std::string_view s) {
  return matches_name(
      s, kMaxLogin, [](char c) { return is_lower(c) || is_upper(c) || is_digit(c) || c == '_'; },
      [](char c) { return is_lower(c) || is_upper(c) || is_digit(c) || c == '_' || c == '.' || c == '-'; });
}

bool valid_server_name(std::string_view s) {
  return matches_name(
      s, kMaxServerName, [](char c) { return is_lower(c) || is_upper(c) || is_digit(c); },
      [](char c) { return is_lower(c) || is_upper(c) || is_digit(c) || c == '.' || c == '-'; });
}

Result<UserSpec> parse_user(std::string_view user) {
  if (user.empty()) return Error{"user name is empty"};
  if (user.size() > kMaxUser) return Error{"user name is longer than " + std::to_string(kMaxUser) + " bytes"};
  if (auto s = check_bytes(user, "user name", false); !s) return s.error();

  const std::vector<std::string_view> parts = split_on(user, '+');
  if (parts.size() != 1 && parts.size() != 3)
    return Error{"target " + quoted(user) + " must be operator+login+server, e.g. alice+root+web1"};
  for (std::string_view p : parts) {
    if (p.empty()) return Error{"user name " + quoted(user) + " has an empty part; expected operator+login+server"};
  }
  if (!valid_operator_name(parts[0]))
    return Error{"operator " + quoted(parts[0]) +
                 " is not a valid operator name (a lowercase letter or _, then up to 31 of a-z 0-9 _ . -)"};

  UserSpec spec{std::string(parts[0]), std::nullopt};
  if (parts.size() == 3) {
    auto target = make_target(parts[1], parts[2]);
    if (!target) return target.error();
    spec.target = std::move(target).value();
  }
  return spec;
}

Result<CommandTarget> parse_command_target(std::string_view line) {
  if (line.size() > kMaxCommandLine) return Error{"command line is longer than 64 KiB"};
  if (auto s = check_bytes(line, "command line", true); !s) return Error{"command line contains a control character"};

  Cursor in(line);
  skip_blanks(in);
  const std::string_view word = take_word(in);
  if (word.empty()) return Error{"command line is empty; expected login@server [command], e.g. root@web1"};
  if (auto s = check_bytes(word, "target", false); !s) return s.error();
  auto target = parse_target_word(word);
  if (!target) return target.error();

  skip_blanks(in);
  return CommandTarget{std::move(target).value(), std::string(in.rest())};
}

}  // namespace bastion::gateway
