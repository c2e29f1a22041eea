#include "gateway/admin/time_text.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <optional>

namespace bastion::gateway::admin {
namespace {

using namespace std::chrono;

// Ten years: far beyond any grant, far below any overflow.
constexpr long long kMaxDurationSeconds = 10LL * 366 * 86400;

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

long long to_number(std::string_view digits) {
  long long v = 0;
  for (char c : digits) v = v * 10 + (c - '0');
  return v;
}

// field reads exactly n digits at pos of s.
std::optional<int> field(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size() || !all_digits(s.substr(pos, n))) return std::nullopt;
  return static_cast<int>(to_number(s.substr(pos, n)));
}

bool separators_at(std::string_view s, char date_time_sep) {
  return s[4] == '-' && s[7] == '-' && s[10] == date_time_sep && s[13] == ':' && (s.size() < 19 || s[16] == ':');
}

// civil_time parses "YYYY-MM-DD?HH:MM[:SS]" where ? is date_time_sep.
std::optional<Seconds> civil_time(std::string_view s, char date_time_sep) {
  if ((s.size() != 16 && s.size() != 19) || !separators_at(s, date_time_sep)) return std::nullopt;
  const auto y = field(s, 0, 4), mo = field(s, 5, 2), d = field(s, 8, 2);
  const auto h = field(s, 11, 2), mi = field(s, 14, 2);
  const auto sec = s.size() == 19 ? field(s, 17, 2) : std::optional<int>(0);
  if (!y || !mo || !d || !h || !mi || !sec || *h > 23 || *mi > 59 || *sec > 59) return std::nullopt;
  const year_month_day date{year{*y}, month{static_cast<unsigned>(*mo)}, day{static_cast<unsigned>(*d)}};
  if (!date.ok()) return std::nullopt;
  return Seconds{sys_days{date}} + hours{*h} + minutes{*mi} + seconds{*sec};
}

std::optional<Seconds> parse_any(std::string_view s) {
  if (all_digits(s) && s.size() <= 12) return from_unix(to_number(s));
  if (s.ends_with('Z')) return civil_time(s.substr(0, s.size() - 1), 'T');
  return civil_time(s, ' ');
}

}  // namespace

Result<Seconds> parse_time(std::string_view text) {
  if (auto t = parse_any(text)) return *t;
  return Error{"cannot read time '" + std::string(text) +
               "': use unix seconds, 2026-11-23T14:00:00Z or \"2026-11-23 14:00\" (UTC)"};
}

Result<std::chrono::seconds> parse_duration(std::string_view text) {
  const Error bad{"cannot read duration '" + std::string(text) + "': use a number and a unit, e.g. 90s, 30m, 4h, 2d"};
  if (text.size() < 2 || text.size() > 12) return bad;
  const auto number = text.substr(0, text.size() - 1);
  if (!all_digits(number)) return bad;
  long long unit = 0;
  switch (text.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: return bad;
  }
  const long long n = to_number(number);
  if (n == 0) return Error{"duration '" + std::string(text) + "' is zero"};
  if (n > kMaxDurationSeconds / unit) return Error{"duration '" + std::string(text) + "' is too long"};
  return std::chrono::seconds{n * unit};
}


}  // namespace bastion::gateway::admin
