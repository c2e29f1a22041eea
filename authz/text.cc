#include "authz/text.h"

#include <ctime>

namespace bastion {
namespace {

std::string strftime_utc(Seconds t, const char* format) {
  const std::time_t tt = static_cast<std::time_t>(to_unix(t));
  std::tm tm{};
  char buf[64];
  if (gmtime_r(&tt, &tm) == nullptr || std::strftime(buf, sizeof buf, format, &tm) == 0)
    return "@" + std::to_string(to_unix(t));
  return buf;
}

}  // namespace

std::string format_utc(Seconds t) { return strftime_utc(t, "%Y-%m-%d %H:%M:%S UTC"); }

std::string iso8601_utc(Seconds t) { return strftime_utc(t, "%Y-%m-%dT%H:%M:%SZ"); }

std::string escape_controls(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  auto hex = [&](unsigned char u) {
    out += "\\x";
    out.push_back(kHex[u >> 4U]);
    out.push_back(kHex[u & 15U]);
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto u = static_cast<unsigned char>(s[i]);
    const auto next = i + 1 < s.size() ? static_cast<unsigned char>(s[i + 1]) : 0;
    if (u < 0x20 || u == 0x7f) {
      hex(u);
    } else if (u == 0xc2 && next >= 0x80 && next <= 0x9f) {
      hex(u);
      hex(next);
      ++i;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string escape_unprintable(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out.push_back(c);
    } else {
      out += "\\x";
      out.push_back(kHex[u >> 4U]);
      out.push_back(kHex[u & 15U]);
    }
  }
  return out;
}

}  // namespace bastion
